"""The in-memory state of a store and its indexes.

``StoreState`` holds customers, tasks, events, the outbox, plugin state and
meta, with the indexes the ``Store`` protocol reads through. It knows nothing
of files: ``MemoryStore`` is this state plus a sequence number, and the
persistent store keeps its hot data (and each loaded history shard) in one.

Objects handed out by reads are the state's own: callers treat them as
read-only and change them by committing a new version.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

from agentdesk.domain import Customer, Event, Identity, Message, OutboxEntry, Status, Task

from .protocol import Batch, StoreStats


def _event_key(event: Event) -> tuple[float, str]:
    return (event.at, event.id)


def _task_age_key(task: Task) -> tuple[float, str]:
    return (task.created_at, task.id)


class StoreState:
    """Everything a store holds in memory, indexed for the protocol's reads."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self._by_identity: dict[Identity, str] = {}
        self.tasks: dict[str, Task] = {}
        self._by_number: dict[int, str] = {}
        # Dicts used as ordered sets.
        self._by_status: dict[Status, dict[str, None]] = {s: {} for s in Status}
        self._by_customer: dict[str, dict[str, None]] = {}
        self._events_of_task: dict[str, list[Event]] = {}
        self.events: dict[str, Event] = {}
        self._by_external: dict[tuple[str, str], str] = {}
        self.outbox: dict[str, OutboxEntry] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}

    # --- applying changes -------------------------------------------------

    def apply(self, batch: Batch) -> None:
        """Apply a batch; tasks before events so an event finds its task."""
        for customer in batch.customers:
            self.put_customer(customer)
        for task in batch.tasks:
            self.put_task(task)
        for event in batch.events:
            self.put_event(event)
        for entry in batch.outbox_put:
            self.outbox[entry.key] = entry
        for key in batch.outbox_done:
            self.outbox.pop(key, None)
        for namespace, key, value in batch.state:
            self.set_state(namespace, key, value)
        for key, value in batch.meta.items():
            if value is None:
                self.meta.pop(key, None)
            else:
                self.meta[key] = value

    def put_customer(self, customer: Customer) -> None:
        old = self.customers.get(customer.id)
        if old is not None:
            for identity in old.identities:
                if self._by_identity.get(identity) == old.id:
                    del self._by_identity[identity]
        self.customers[customer.id] = customer
        if customer.merged_into is None:
            for identity in customer.identities:
                self._by_identity[identity] = customer.id

    def put_task(self, task: Task) -> None:
        old = self.tasks.get(task.id)
        if old is not None:
            if old.number != task.number and self._by_number.get(old.number) == old.id:
                del self._by_number[old.number]
            if old.status != task.status:
                self._by_status[old.status].pop(old.id, None)
            if old.customer_id != task.customer_id:
                self._unlink_customer(old)
        self.tasks[task.id] = task
        self._by_number[task.number] = task.id
        self._by_status[task.status][task.id] = None
        self._by_customer.setdefault(task.customer_id, {})[task.id] = None

    def load_tasks(self, tasks: Iterable[Task]) -> None:
        """Put tasks into a state that holds none of them yet (faster than ``put_task``)."""
        by_status = self._by_status
        by_customer = self._by_customer
        for task in tasks:
            self.tasks[task.id] = task
            self._by_number[task.number] = task.id
            by_status[task.status][task.id] = None
            owned = by_customer.get(task.customer_id)
            if owned is None:
                owned = by_customer[task.customer_id] = {}
            owned[task.id] = None

    def put_event(self, event: Event) -> None:
        old = self.events.get(event.id)
        if old is not None:
            self._unlink_event(old)
        self.events[event.id] = event
        timeline = self._events_of_task.setdefault(event.task_id, [])
        # Events nearly always arrive in time order: append without a search.
        if not timeline or _event_key(timeline[-1]) <= _event_key(event):
            timeline.append(event)
        else:
            bisect.insort(timeline, event, key=_event_key)
        if isinstance(event, Message) and event.external_id is not None:
            self._by_external[(event.channel, event.external_id)] = event.id

    def set_state(self, namespace: str, key: str, value: Any) -> None:
        if value is None:
            space = self.state.get(namespace)
            if space is not None:
                space.pop(key, None)
                if not space:
                    del self.state[namespace]
        else:
            self.state.setdefault(namespace, {})[key] = value

    def remove_task(self, task_id: str) -> tuple[Task, list[Event]] | None:
        """Take a task and its events out of this state (to move them elsewhere)."""
        task = self.tasks.pop(task_id, None)
        if task is None:
            return None
        if self._by_number.get(task.number) == task_id:
            del self._by_number[task.number]
        self._by_status[task.status].pop(task_id, None)
        self._unlink_customer(task)
        return task, self.remove_events(task_id)

    def remove_events(self, task_id: str) -> list[Event]:
        """Take a task's events out of this state, leaving the task."""
        events = self._events_of_task.pop(task_id, [])
        for event in events:
            del self.events[event.id]
            self._unlink_external(event)
        return events

    def add_task(self, task: Task, events: Iterable[Event]) -> None:
        """Put a task with its events (moved here from elsewhere)."""
        self.put_task(task)
        for event in events:
            self.put_event(event)

    def _unlink_customer(self, task: Task) -> None:
        tasks = self._by_customer.get(task.customer_id)
        if tasks is not None:
            tasks.pop(task.id, None)
            if not tasks:
                del self._by_customer[task.customer_id]

    def _unlink_event(self, event: Event) -> None:
        timeline = self._events_of_task.get(event.task_id, [])
        for index in range(len(timeline) - 1, -1, -1):
            if timeline[index].id == event.id:
                del timeline[index]
                break
        if not timeline:
            self._events_of_task.pop(event.task_id, None)
        self._unlink_external(event)

    def _unlink_external(self, event: Event) -> None:
        if isinstance(event, Message) and event.external_id is not None:
            key = (event.channel, event.external_id)
            if self._by_external.get(key) == event.id:
                del self._by_external[key]

    # --- reads --------------------------------------------------------------

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        customer_id = self._by_identity.get(identity)
        return None if customer_id is None else self.customers.get(customer_id)

    def task_by_number(self, number: int) -> Task | None:
        task_id = self._by_number.get(number)
        return None if task_id is None else self.tasks.get(task_id)

    def tasks_with(self, statuses: Iterable[Status] | None = None) -> Iterator[Task]:
        if statuses is None:
            yield from list(self.tasks.values())
            return
        for status in dict.fromkeys(Status(s) for s in statuses):
            for task_id in list(self._by_status[status]):
                yield self.tasks[task_id]

    def count_with(self, status: Status) -> int:
        return len(self._by_status[status])

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        tasks = [self.tasks[t] for t in self._by_customer.get(customer_id, ())]
        tasks.sort(key=_task_age_key)
        return tasks

    def events_of_task(self, task_id: str) -> list[Event]:
        return list(self._events_of_task.get(task_id, ()))

    def message_by_external_id(self, channel: str, external_id: str) -> Message | None:
        event_id = self._by_external.get((channel, external_id))
        event = None if event_id is None else self.events.get(event_id)
        return event if isinstance(event, Message) else None

    def has_events(self, task_id: str) -> bool:
        return task_id in self._events_of_task

    def timelines(self) -> Iterator[tuple[str, list[Event]]]:
        """Each task id with its events (time order), tasks without a record included."""
        return iter(list(self._events_of_task.items()))

    def iter_events(self) -> Iterator[Event]:
        """Events task by task, each task's in time order."""
        for task_id in list(self._events_of_task):
            yield from self._events_of_task.get(task_id, ())

    def outbox_entries(self) -> list[OutboxEntry]:
        return list(self.outbox.values())

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        return self.state.get(namespace, {}).get(key, default)

    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        items = [(ns, k, v) for ns, values in self.state.items() for k, v in values.items()]
        return iter(items)

    def stats(self) -> StoreStats:
        by_channel: dict[str, int] = {}
        for task in self.tasks.values():
            by_channel[task.channel] = by_channel.get(task.channel, 0) + 1
        return StoreStats(
            customers=len(self.customers),
            tasks_by_status={str(s): len(ids) for s, ids in self._by_status.items()},
            tasks_by_channel=by_channel,
            events=len(self.events),
        )


def sort_tasks_by_age(tasks: list[Task]) -> list[Task]:
    """Oldest first, the order ``tasks_of_customer`` promises."""
    return sorted(tasks, key=_task_age_key)


class StateReads:
    """Reads that every store answers from its in-memory ``StoreState`` alone."""

    _state: StoreState

    def get_customer(self, customer_id: str) -> Customer | None:
        return self._state.customers.get(customer_id)

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        """The (unmerged) customer who owns this normalised identity."""
        return self._state.customer_by_identity(identity)

    def customers(self) -> Iterator[Customer]:
        return iter(list(self._state.customers.values()))

    def outbox(self) -> list[OutboxEntry]:
        """Outbox entries in the order they were first put."""
        return self._state.outbox_entries()

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        return self._state.get_state(namespace, key, default)

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._state.meta.get(key, default)

    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        """Every plugin state value as (namespace, key, value), for export."""
        return self._state.state_items()

    def meta_items(self) -> Iterator[tuple[str, Any]]:
        """Every counter and setting as (key, value), for export."""
        return iter(list(self._state.meta.items()))
