"""A store that keeps everything in memory and nothing on disk: the protocol's
second engine, for tests.

It keeps the promises ``SqliteStore`` keeps (numbers, versions, duplicate
keys, a batch undone alone inside a group), with plain dicts: every object as
the JSON the codec wrote, so a value that could not be saved is refused here
too and no caller holds a reference into the store. Search reads every task
(``search.scan``). A change is recorded in an undo log while a group is open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from agentdesk.api import SearchPage
from agentdesk.domain import Activity, Customer, Event, Identity, OutboxEntry, Status, Task
from agentdesk.domain.codec import CodecError, decode, decode_value, encode, encode_value
from agentdesk.query.terms import Query
from agentdesk.search.scan import scan

from .errors import DuplicateKey, StoreConflict, StoreError
from .protocol import FIRST_TASK_NUMBER, Batch, Change, StoreStats, inbound_key

_MISSING = object()


class MemoryStore:
    """An in-memory ``Store``."""

    def __init__(self) -> None:
        self._seq = 0
        self._customers: dict[str, bytes] = {}
        self._identities: dict[Identity, str] = {}
        self._tasks: dict[str, bytes] = {}
        self._numbers: dict[int, str] = {}
        self._by_status: dict[str, dict[str, None]] = {s.value: {} for s in Status}
        self._by_customer: dict[str, dict[str, None]] = {}
        self._events: dict[str, tuple[str, float, bytes]] = {}  # id -> (task id, at, doc)
        self._timelines: dict[str, dict[str, float]] = {}  # task id -> event id -> at
        self._external: dict[tuple[str, str], str] = {}
        self._inbound: dict[tuple[str, str], str] = {}
        self._outbox: dict[str, bytes] = {}
        self._state: dict[tuple[str, str], bytes] = {}
        self._activity: dict[int, tuple[float, bytes]] = {}  # number -> (at, doc)
        self._seqs: dict[tuple[str, str], int] = {}  # (table, id) -> seq that last wrote it
        self._undo: list[tuple[dict, Any, Any]] | None = None
        self._closed = False

    @property
    def seq(self) -> int:
        return self._seq

    def close(self) -> None:
        self._closed = True

    # --- writing --------------------------------------------------------------------

    @contextlib.contextmanager
    def group(self) -> Iterator[MemoryStore]:
        if self._closed:
            raise StoreError("the store is closed; open it again to make changes")
        if self._undo is not None:
            raise StoreError("a write group is already open on this store")
        self._undo = []
        start = self._seq
        try:
            yield self
        except BaseException:
            self._roll_back(0)
            self._seq = start
            raise
        finally:
            self._undo = None

    def commit(self, batch: Batch) -> int:
        with self.group() as group:
            return group.apply(batch)

    def apply(self, batch: Batch) -> int:
        if self._undo is None:
            raise StoreError("apply() belongs inside group(); use commit() for one batch")
        if not batch:
            return self._seq
        mark = len(self._undo)
        given = [(task, task.number, task.version) for task in batch.tasks]
        try:
            self._write(batch, self._seq + 1)
        except BaseException as exc:
            self._roll_back(mark)
            for task, number, version in given:
                task.number, task.version = number, version
            if isinstance(exc, CodecError):
                raise StoreError(str(exc)) from None
            raise
        self._seq += 1
        return self._seq

    def _roll_back(self, mark: int) -> None:
        undo = self._undo or []
        while len(undo) > mark:
            table, key, old = undo.pop()
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old

    def _put(self, table: dict, key: Any, value: Any) -> None:
        if self._undo is not None:
            self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def _pop(self, table: dict, key: Any) -> None:
        if key in table:
            if self._undo is not None:
                self._undo.append((table, key, table[key]))
            del table[key]

    def _write(self, batch: Batch, seq: int) -> None:
        for customer in batch.customers:
            old = self.get_customer(customer.id)
            for identity in old.identities if old else ():
                if self._identities.get(identity) == customer.id:
                    self._pop(self._identities, identity)
            self._put(self._customers, customer.id, encode(customer))
            self._put(self._seqs, ("customers", customer.id), seq)
            if customer.merged_into is None:
                for identity in customer.identities:
                    self._put(self._identities, identity, customer.id)
        for task in {t.id: t for t in batch.tasks}.values():
            self._put_task(task, seq)
        for event in batch.events:
            self._put_event(event, seq)
        for entry in batch.outbox_put:
            self._put(self._outbox, entry.key, encode(entry))
        for key in batch.outbox_done:
            self._pop(self._outbox, key)
        for record in batch.activity:
            self._put(self._activity, len(self._activity), (record.at, encode(record)))
        for namespace, key, value in batch.state:
            if value is None:
                self._pop(self._state, (namespace, key))
            else:
                try:
                    self._put(self._state, (namespace, key), encode_value(value))
                except CodecError as exc:
                    raise StoreError(f"plugin state {namespace}/{key}: {exc}") from None

    def _put_task(self, task: Task, seq: int) -> None:
        old = self.get_task(task.id)
        stored = old.version if old else 0
        if task.version != stored:
            name = f"#{old.number}" if old else task.id
            raise StoreConflict(
                f"task {name} changed since this change was planned (version {stored},"
                f" planned on {task.version}): read it again and retry"
            )
        if not task.number:
            task.number = (
                old.number if old else max(self._numbers, default=FIRST_TASK_NUMBER - 1) + 1
            )
        holder = self._numbers.get(task.number)
        if holder is not None and holder != task.id:
            raise StoreConflict("another task already has this number")
        task.version = stored + 1
        if old is not None:
            self._pop(self._numbers, old.number)
            self._pop(self._by_status[str(old.status)], task.id)
            self._pop(self._by_customer.get(old.customer_id, {}), task.id)
        self._put(self._tasks, task.id, encode(task))
        self._put(self._numbers, task.number, task.id)
        self._put(self._by_status[str(task.status)], task.id, None)
        self._put(self._by_customer.setdefault(task.customer_id, {}), task.id, None)
        self._put(self._seqs, ("tasks", task.id), seq)

    def _put_event(self, event: Event, seq: int) -> None:
        if event.task_id not in self._tasks:
            raise StoreError(
                f"event {event.id} belongs to task {event.task_id}, which the store does"
                " not hold: put the task in the same batch"
            )
        old = self._events.get(event.id)
        if old is not None and old[0] != event.task_id:
            raise StoreError(f"event {event.id} already belongs to another task")
        channel: str = getattr(event, "channel", "")
        key = inbound_key(event)
        if key is not None:
            holder = self._inbound.get((channel, key))
            if holder is not None and holder != event.id:
                raise DuplicateKey("the channel already delivered this message")
            self._put(self._inbound, (channel, key), event.id)
        external = getattr(event, "external_id", None)
        if external is not None and (channel, external) not in self._external:
            self._put(self._external, (channel, external), event.id)
        self._put(self._events, event.id, (event.task_id, event.at, encode(event)))
        self._put(self._timelines.setdefault(event.task_id, {}), event.id, event.at)
        self._put(self._seqs, ("events", event.id), seq)

    # --- reads ------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer | None:
        doc = self._customers.get(customer_id)
        return None if doc is None else decode(Customer, doc)

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        owner = self._identities.get(identity)
        return None if owner is None else self.get_customer(owner)

    def customers(self) -> Iterator[Customer]:
        return (decode(Customer, doc) for doc in list(self._customers.values()))

    def get_task(self, task_id: str) -> Task | None:
        doc = self._tasks.get(task_id)
        return None if doc is None else decode(Task, doc)

    def task_by_number(self, number: int) -> Task | None:
        task_id = self._numbers.get(number)
        return None if task_id is None else self.get_task(task_id)

    def tasks(self, statuses: Iterable[Status] | None = None) -> list[Task]:
        if statuses is None:
            return [decode(Task, doc) for doc in self._tasks.values()]
        return [
            decode(Task, self._tasks[task_id])
            for status in dict.fromkeys(str(Status(s)) for s in statuses)
            for task_id in self._by_status[status]
        ]

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        tasks = [decode(Task, self._tasks[t]) for t in self._by_customer.get(customer_id, ())]
        return sorted(tasks, key=lambda t: (t.created_at, t.id))

    def get_event(self, event_id: str) -> Event | None:
        row = self._events.get(event_id)
        return None if row is None else decode(Event, row[2])

    def events_of_task(self, task_id: str) -> list[Event]:
        timeline = self._timelines.get(task_id, {})
        ordered = sorted(timeline, key=lambda event_id: (timeline[event_id], event_id))
        return [decode(Event, self._events[event_id][2]) for event_id in ordered]

    def message_by_external_id(self, channel: str, external_id: str) -> Event | None:
        event_id = self._external.get((channel, external_id))
        return None if event_id is None else self.get_event(event_id)

    def iter_events(self) -> Iterator[Event]:
        for task_id in list(self._tasks):
            yield from self.events_of_task(task_id)

    def iter_activity(self, since: float = 0.0) -> Iterator[Activity]:
        held = sorted((at, n, doc) for n, (at, doc) in self._activity.items() if at >= since)
        return iter([decode(Activity, doc) for _, _, doc in held])

    def outbox(self) -> list[OutboxEntry]:
        entries = [decode(OutboxEntry, doc) for doc in self._outbox.values()]
        return sorted(entries, key=lambda e: e.event_id)

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        doc = self._state.get((namespace, key))
        return default if doc is None else decode_value(doc)

    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        return iter(
            [(ns, key, decode_value(doc)) for (ns, key), doc in sorted(self._state.items())]
        )

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        changes: dict[int, Change] = {}
        reads = {"customers": self.get_customer, "tasks": self.get_task, "events": self.get_event}
        for (table, object_id), at in sorted(self._seqs.items(), key=lambda item: item[1]):
            if seq < at <= seq + limit:
                change = changes.setdefault(at, Change(at))
                getattr(change, table).append(reads[table](object_id))
        return [changes[at] for at in sorted(changes)]

    def stats(self) -> StoreStats:
        by_channel: dict[str, int] = {}
        for task in self.tasks():
            by_channel[task.channel] = by_channel.get(task.channel, 0) + 1
        return StoreStats(
            customers=len(self._customers),
            tasks_by_status={status: len(ids) for status, ids in self._by_status.items()},
            tasks_by_channel=by_channel,
            events=len(self._events),
        )

    def search(
        self, query: Query, *, me: str | None, now: float, limit: int = 50, offset: int = 0
    ) -> SearchPage:
        return scan(
            self.tasks(),
            query,
            customer_of=lambda t: (
                self.get_customer(t.customer_id) or Customer(id=t.customer_id, name=t.customer_name)
            ),
            events_of=lambda t: self.events_of_task(t.id),
            me=me,
            now=now,
            limit=limit,
            offset=offset,
        )
