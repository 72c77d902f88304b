"""The desk: the one owner of state changes.

Channels hand inbound items to ``ingest``; agents act through the command
methods. Every change takes one path: it is *planned* on the store's thread
(reading the store, building a ``Batch``), *committed* there in the same
step, then *published* on the event loop as an ``Update``. The store lives
on its thread (``StoreThread``), so neither a disk sync nor a slow query ever
holds the event loop. Nothing here talks to a plugin directly: the channel
runtime registers channels and drains the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from agentdesk.domain import Identity, IdFactory, OutboxEntry, Status, Task
from agentdesk.domain.codec import decode_value, encode_value
from agentdesk.domain.evolve import evolve
from agentdesk.plugin import (
    Capabilities,
    Delivery,
    DeliveryReceipt,
    HandoffContext,
    HealthState,
    Outbound,
    TypingSignal,
)
from agentdesk.search import parse_query
from agentdesk.store import Batch, DuplicateKey, Store, StoreConflict, WriteGroup

from .client import ChannelStatus, DeskError, Update
from .commands import Commands
from .ingest import InboundRejected, Ingestor, IngestResult, IngestRules
from .outbox import OutboxBook
from .store_thread import StoreThread
from .stream import Notice, UpdateBus

log = logging.getLogger("agentdesk.desk")

HandoffGateway = Callable[[str, HandoffContext], Awaitable[Outbound | None]]
# (channel, to, typing): relays an agent's typing to a running channel.
TypingGateway = Callable[[str, str, bool], Awaitable[None]]
# What a planner returns: the batch, the notices, and the caller's result.
Plan = tuple[Batch, list[Notice], Any]
T = TypeVar("T")

# A change planned on a task that changed meanwhile is planned again, this often.
CONFLICT_RETRIES = 3
# Inbound items in one ingest transaction, at most: bounds the wait of the first.
GROUP_ITEMS = 512


class Desk:
    """Ingest, commands, outbox bookkeeping and the update stream of one desk.

    Build it off the event loop (``asyncio.to_thread(Desk, store)``) for a
    large store: it reads the outbox and the plugin state, which it keeps in
    memory for the dispatcher and the plugins' synchronous ``state.get``.
    """

    def __init__(
        self,
        store: Store,
        *,
        rules: IngestRules | None = None,
        clock: Callable[[], float] = time.time,
        ids: IdFactory | None = None,
    ) -> None:
        self.store = store
        self.thread = StoreThread()
        self.clock = clock
        self.ids = ids or IdFactory(clock)
        self.rules = rules or IngestRules()
        self.ingestor = Ingestor(store, self.ids, self.rules)
        self.commands = Commands(self)
        self.outbox = OutboxBook(self)
        self.bus = UpdateBus()
        self.outbox_wakeup = asyncio.Event()
        self._outbox = {entry.key: entry for entry in store.outbox()}
        self._state = {(ns, key): encode_value(value) for ns, key, value in store.state_items()}
        # Replaced whole on every change, so the store's thread may read them.
        self._channels: dict[str, ChannelStatus] = {}
        self._handoff_gateway: HandoffGateway | None = None
        self._typing_gateway: TypingGateway | None = None
        self._waiting: deque[tuple[str, list[Any], asyncio.Future[list[Any]]]] = deque()
        self._committer: asyncio.Task[None] | None = None

    # --- the path of every change ---------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the store's thread: a read, consistent in itself."""
        return await self.thread.run(fn, *args)

    async def execute(self, plan: Callable[..., Plan], *args: Any) -> Any:
        """Plan a change on the store's thread, commit it there, publish it here;
        returns the plan's result. A plan overtaken by another change to its
        task is planned again."""
        return (await self._execute(plan, args))[1]

    async def _execute(self, plan: Callable[..., Plan], args: tuple) -> tuple[int, Any]:
        for attempt in range(CONFLICT_RETRIES):
            try:
                seq, batch, notices, result = await self.thread.run(
                    self._plan_and_commit, plan, args
                )
            except StoreConflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise DeskError(
                        "the task kept changing while this was being saved; try again"
                    ) from None
                continue
            self._published(seq, batch, notices)
            return seq, result
        raise AssertionError("unreachable")

    def _plan_and_commit(self, plan: Callable[..., Plan], args: tuple) -> tuple:
        batch, notices, result = plan(*args)
        seq = self.store.commit(batch) if batch else self.store.seq
        return seq, batch, notices, result

    async def commit(self, batch: Batch, notices: list[Notice] | None = None) -> int:
        """Commit a batch planned already (and publish it); returns its sequence number."""
        return (await self._execute(lambda: (batch, notices or [], None), ()))[0]

    def _published(self, seq: int, batch: Batch, notices: list[Notice] | None) -> None:
        """After a commit: the outbox and state kept here follow, then the update goes out."""
        for entry in batch.outbox_put:
            self._outbox[entry.key] = entry
        for key in batch.outbox_done:
            self._outbox.pop(key, None)
        for namespace, key, value in batch.state:
            if value is None:
                self._state.pop((namespace, key), None)
            else:
                self._state[(namespace, key)] = encode_value(value)
        if batch.tasks or batch.events or batch.customers or notices:
            self.bus.publish(
                Update(
                    seq=seq,
                    tasks=list(batch.tasks),
                    events=list(batch.events),
                    customers=list(batch.customers),
                    notices=[n.text for n in notices or [] if n.agent is None],
                    targeted=[(n.agent, n.text) for n in notices or [] if n.agent is not None],
                )
            )
        if batch.outbox_put:
            self.outbox_wakeup.set()

    async def search(self, query: str, *, me: str | None, limit: int = 50, offset: int = 0) -> Any:
        """One page of search results (``QuerySyntaxError`` for a query it cannot read)."""
        parsed = parse_query(query)
        return await self.read(
            lambda: self.store.search(parsed, me=me, now=self.clock(), limit=limit, offset=offset)
        )

    def subscribe(self, since: int) -> AsyncIterator[Update]:
        return self.bus.subscribe(since)

    def close(self) -> None:
        """End the update stream and the store's thread (the store stays open:
        whoever opened it closes it, through ``read`` before this)."""
        self.bus.close()
        self.thread.close()

    # --- channels -----------------------------------------------------------

    def register_channel(self, status: ChannelStatus) -> None:
        self._channels = {**self._channels, status.name: status}
        self.bus.publish(Update(seq=self.store.seq, channels=[status]))

    def update_channel(self, name: str, **changes: Any) -> None:
        old = self._channels.get(name)
        if old is None:
            return
        new = evolve(old, **changes)
        self._channels = {**self._channels, name: new}
        notices = []
        if new.state != old.state and new.state in (HealthState.DOWN, HealthState.DEGRADED):
            reason = f": {new.last_error}" if new.last_error else ""
            notices.append(f"channel {name} is {new.state}{reason}")
        elif new.state == HealthState.UP and old.state in (HealthState.DOWN, HealthState.DEGRADED):
            notices.append(f"channel {name} is up again")
        self.bus.publish(Update(seq=self.store.seq, channels=[new], notices=notices))

    def channels(self) -> list[ChannelStatus]:
        return list(self._channels.values())

    def channel(self, name: str) -> ChannelStatus | None:
        return self._channels.get(name)

    def capabilities(self, name: str) -> Capabilities:
        status = self._channels.get(name)
        if status is None:
            raise InboundRejected(f"unknown channel {name!r}")
        return status.capabilities

    def set_handoff_gateway(self, gateway: HandoffGateway | None) -> None:
        self._handoff_gateway = gateway

    def set_typing_gateway(self, gateway: TypingGateway | None) -> None:
        self._typing_gateway = gateway

    @property
    def typing_gateway(self) -> TypingGateway | None:
        return self._typing_gateway

    @property
    def handoff_gateway(self) -> HandoffGateway | None:
        return self._handoff_gateway

    # --- ingest ---------------------------------------------------------------

    async def ingest(self, channel: str, item: Any) -> IngestResult | None:
        """Store one inbound item durably. Raises ``InboundRejected`` for a
        malformed item; returns None for signals (typing) and receipts."""
        (result,) = await self._ingest(channel, [item])
        if isinstance(result, Exception):
            raise result
        return result

    async def ingest_many(
        self, channel: str, items: list[Any]
    ) -> list[IngestResult | Exception | None]:
        """Store several inbound items of one channel in one durable transaction.

        Each item is planned against the state its predecessors left, so two
        messages of a new customer in one group still make one customer and one
        task. Returns, per item, its result or the exception it raised.
        """
        return await self._ingest(channel, items)

    async def _ingest(self, channel: str, items: list[Any]) -> list[Any]:
        # Group commit: what every channel hands in while the store's thread
        # is busy goes into the next transaction together, with one sync.
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((channel, items, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await done

    async def _commit_waiting(self) -> None:
        while self._waiting:
            work: list[tuple[str, list[Any], asyncio.Future[list[Any]]]] = []
            size = 0
            while self._waiting and (not work or size + len(self._waiting[0][1]) <= GROUP_ITEMS):
                work.append(self._waiting.popleft())
                size += len(work[-1][1])
            try:
                outcome = await self.thread.run(self._ingest_group, [(c, i) for c, i, _ in work])
            except Exception as exc:  # the transaction failed: none of it was stored
                for _, _, done in work:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, _, done), (results, updates) in zip(work, outcome, strict=True):
                for update in updates:
                    if isinstance(update, Update):
                        self.bus.publish(update)
                    else:
                        self._published(*update)
                if not done.done():
                    done.set_result(results)

    def _ingest_group(self, work: list[tuple[str, list[Any]]]) -> list[tuple[list, list]]:
        """Plan and apply every item of ``work`` in one transaction."""
        outcome = []
        with self.store.group() as group:
            for channel, items in work:
                results: list[IngestResult | Exception | None] = []
                updates: list[Any] = []
                for item in items:
                    try:
                        if isinstance(item, TypingSignal):
                            updates.extend(self._typing(channel, item))
                            results.append(None)
                            continue
                        results.append(self._ingest_one(group, channel, item, updates))
                    except Exception as exc:
                        results.append(exc)
                outcome.append((results, updates))
        return outcome

    def _ingest_one(self, group: WriteGroup, channel: str, item: Any, updates: list) -> Any:
        if isinstance(item, DeliveryReceipt):
            batch = self.outbox.receipt(channel, item)
            if batch:
                updates.append((group.apply(batch), batch, []))
            return None
        caps = self.capabilities(channel)
        batch, result = self.ingestor.plan(channel, caps, item, self.clock())
        if result.duplicate:
            log.debug("duplicate %s on %s dropped", getattr(item, "external_id", ""), channel)
            return result
        try:
            seq = group.apply(batch)
        except DuplicateKey:
            found = self.store.message_by_external_id(channel, item.external_id)
            return self.ingestor.duplicate_result(found) if found else None
        notices = []
        if result.created_task:
            notices.append(Notice(f"new task {result.task.label} on {channel}"))
        elif result.task.assignee:
            text = f"{result.customer.display_name} wrote on {result.task.label}"
            notices.append(Notice(text, result.task.assignee))
        updates.append((seq, batch, notices))
        return result

    def _typing(self, channel: str, signal: TypingSignal) -> list[Update]:
        caps = self.capabilities(channel)
        customer = self.store.customer_by_identity(Identity.of(caps.identity_kind, signal.identity))
        if customer is None:
            return []
        return [
            Update(seq=self.store.seq, typing={task.id: signal.typing})
            for task in self.store.tasks_of_customer(customer.id)
            if task.channel == channel and task.status != Status.CLOSED
        ]

    # --- outbox ---------------------------------------------------------------

    def outbox_due(self, now: float) -> list[OutboxEntry]:
        due = [e for e in self._outbox.values() if e.next_attempt_at <= now]
        return sorted(due, key=lambda e: e.event_id)

    def next_outbox_time(self) -> float | None:
        times = [e.next_attempt_at for e in self._outbox.values()]
        return min(times) if times else None

    async def outbound_for(self, entry: OutboxEntry) -> Outbound:
        return await self.read(self.outbox.outbound_for, entry)

    async def delivery_succeeded(self, entry: OutboxEntry, delivery: Delivery) -> None:
        await self.execute(lambda: (self.outbox.delivered(entry, delivery), [], None))

    async def delivery_failed(
        self, entry: OutboxEntry, error: str, *, permanent: bool, retry_at: float | None
    ) -> None:
        def plan() -> Plan:
            batch, notices = self.outbox.delivery_failed(entry, error, permanent, retry_at)
            return batch, notices, None

        await self.execute(plan)

    # --- plugin state ---------------------------------------------------------

    def state_get(self, namespace: str, key: str, default: Any = None) -> Any:
        """A channel's saved value (a copy: changing it changes nothing saved)."""
        data = self._state.get((namespace, key))
        return default if data is None else decode_value(data)

    async def state_set(self, namespace: str, key: str, value: Any) -> None:
        """Save a channel's state durably (``None`` deletes it)."""
        if value is not None:
            encode_value(value)  # refused here, before anything is written
        await self.commit(Batch(state=[(namespace, key, value)]))

    # --- time -------------------------------------------------------------------

    async def wake_snoozed(self) -> int:
        """Reopen pending tasks whose snooze time has passed; returns how many."""
        now = self.clock()
        due = await self.read(
            lambda: [
                t.id
                for t in self.store.tasks([Status.PENDING])
                if t.pending_until is not None and t.pending_until <= now
            ]
        )
        woken = 0
        for task_id in due:
            try:
                await self.execute(self.commands.plan_status, task_id, Status.OPEN, None, "system")
                woken += 1
            except DeskError:
                pass  # an agent moved it meanwhile
        return woken

    def require_task(self, task_id: str) -> Task:
        task = self.store.get_task(task_id)
        if task is None:
            raise DeskError(f"no task with id {task_id}")
        return task
