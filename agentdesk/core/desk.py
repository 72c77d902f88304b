"""The desk: the one owner of state changes.

Channels hand inbound items to ``ingest``; agents act through the command
methods; every change is one ``Batch`` committed to the store, then indexed,
then published on the update stream. Nothing here talks to a plugin directly:
the channel runtime registers channels and drains the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from agentdesk.domain import Identity, IdFactory, OutboxEntry, Status, Task
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
from agentdesk.store import Batch, Store
from agentdesk.store.batch_codec import EncodedBatch, encode_batch_texts

from .client import ChannelStatus, DeskError, Update
from .commands import Commands
from .ingest import InboundRejected, Ingestor, IngestResult, IngestRules
from .outbox import OutboxBook
from .stream import Notice, UpdateBus

log = logging.getLogger("agentdesk.desk")

HandoffGateway = Callable[[str, HandoffContext], Awaitable[Outbound | None]]
# (channel, to, typing): relays an agent's typing to a running channel.
TypingGateway = Callable[[str, str, bool], Awaitable[None]]


class Index(Protocol):
    """What the desk needs of a search index (``agentdesk.search.SearchIndex``)."""

    def apply_many(
        self,
        batches: Sequence[tuple[int, Batch | EncodedBatch]],
        lookup_customer: Callable[[str], Any],
    ) -> None: ...
    def catch_up(self, store: Store) -> int: ...
    def search(self, query: str, **kw: Any) -> Any: ...


class Desk:
    """Ingest, commands, outbox bookkeeping and the update stream of one desk."""

    def __init__(
        self,
        store: Store,
        *,
        index: Index | None = None,
        rules: IngestRules | None = None,
        clock: Callable[[], float] = time.time,
        ids: IdFactory | None = None,
    ) -> None:
        self.store = store
        self.index = index
        self.clock = clock
        self.ids = ids or IdFactory(clock)
        self.rules = rules or IngestRules()
        self.ingestor = Ingestor(store, self.ids, self.rules)
        self.commands = Commands(self)
        self.outbox = OutboxBook(self)
        self.bus = UpdateBus()
        self.outbox_wakeup = asyncio.Event()
        self.index_error: str | None = None
        self._channels: dict[str, ChannelStatus] = {}
        self._handoff_gateway: HandoffGateway | None = None
        self._typing_gateway: TypingGateway | None = None

    # --- committing ---------------------------------------------------------

    def commit(
        self, batch: Batch, notices: list[Notice] | None = None, *, sync: bool = True
    ) -> int:
        """Store, index and publish one batch; returns its sequence number.

        With ``sync=False`` the batch is not durable until ``store.sync()``:
        only for work whose acknowledgement waits for that sync (ingest_many).
        """
        encoded = encode_batch_texts(batch)
        seq = self.store.commit(encoded, sync=sync)
        self._index([(seq, encoded)])
        self._publish(seq, batch, notices)
        if batch.outbox_put:
            self.outbox_wakeup.set()
        return seq

    def _index(self, batches: list[tuple[int, EncodedBatch]]) -> None:
        # Every batch goes to the index, even one it has nothing to take from:
        # the index follows the store's sequence numbers one by one.
        if self.index is None or self.index_error is not None or not batches:
            return
        try:
            self.index.apply_many(batches, self.store.get_customer)
        except Exception:
            self._recover_index(batches[0][0])

    def _publish(self, seq: int, batch: Batch, notices: list[Notice] | None) -> None:
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

    def _recover_index(self, seq: int) -> None:
        """After a failed index update, let the index catch up from the store once;
        if that fails too, search stays behind until the next start."""
        log.warning("search index update failed at seq %s; catching up", seq, exc_info=True)
        try:
            self.index.catch_up(self.store)  # type: ignore[union-attr]
        except Exception as exc:
            self.index_error = f"search is behind until restart: {exc}"
            log.exception("search index could not catch up")

    def search(self, query: str, **options: Any) -> Any:
        """Search the index (blocking: call it from a thread)."""
        if self.index is None:
            raise DeskError("search is not available: this desk has no search index")
        return self.index.search(query, **options)

    def subscribe(self, since: int) -> AsyncIterator[Update]:
        return self.bus.subscribe(since)

    def close(self) -> None:
        """End the update stream (the store and the index stay open)."""
        self.bus.close()

    # --- channels -----------------------------------------------------------

    def register_channel(self, status: ChannelStatus) -> None:
        self._channels[status.name] = status
        self.bus.publish(Update(seq=self.store.seq, channels=[status]))

    def update_channel(self, name: str, **changes: Any) -> None:
        old = self._channels.get(name)
        if old is None:
            return
        new = evolve(old, **changes)
        self._channels[name] = new
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
        return self._ingest_one(channel, item, sync=True)

    async def ingest_many(
        self, channel: str, items: list[Any]
    ) -> list[IngestResult | Exception | None]:
        """Store several inbound items of one channel with a single durable sync.

        Each item is planned against the state its predecessors left, so two
        messages of a new customer in one group still make one customer and one
        task. Returns, per item, its result or the exception it raised.
        """
        results: list[IngestResult | Exception | None] = []
        committed: list[tuple[int, Batch, EncodedBatch, list[Notice]]] = []
        for item in items:
            try:
                if isinstance(item, TypingSignal):
                    self._typing(channel, item)
                    results.append(None)
                    continue
                result, batch, notices = self._plan(channel, item)
                if batch:
                    # Encoded once, for the store and for the index.
                    encoded = encode_batch_texts(batch)
                    seq = self.store.commit(encoded, sync=False)
                    committed.append((seq, batch, encoded, notices))
                results.append(result)
            except Exception as exc:
                results.append(exc)
        # Indexed as one group, in the order of commits (other channels commit
        # while this one waits for the disk); shown once durable.
        self._index([(seq, encoded) for seq, _, encoded, _ in committed])
        if committed:
            await asyncio.to_thread(self.store.sync)
        for seq, batch, _, notices in committed:
            self._publish(seq, batch, notices)
        return results

    def _ingest_one(self, channel: str, item: Any, *, sync: bool) -> IngestResult | None:
        if isinstance(item, TypingSignal):
            self._typing(channel, item)
            return None
        result, batch, notices = self._plan(channel, item)
        if batch:
            self.commit(batch, notices, sync=sync)
        return result

    def _plan(self, channel: str, item: Any) -> tuple[IngestResult | None, Batch, list[Notice]]:
        """What storing ``item`` takes; an empty batch for a duplicate."""
        if isinstance(item, DeliveryReceipt):
            return None, self.outbox.receipt(channel, item), []
        caps = self.capabilities(channel)
        batch, result = self.ingestor.plan(channel, caps, item, self.clock())
        if result.duplicate:
            log.debug("duplicate %s on %s dropped", getattr(item, "external_id", ""), channel)
            return result, Batch(), []
        notices = []
        if result.created_task:
            notices.append(Notice(f"new task {result.task.label} on {channel}"))
        elif result.task.assignee:
            text = f"{result.customer.display_name} wrote on {result.task.label}"
            notices.append(Notice(text, result.task.assignee))
        return result, batch, notices

    def _typing(self, channel: str, signal: TypingSignal) -> None:
        caps = self.capabilities(channel)
        customer = self.store.customer_by_identity(Identity.of(caps.identity_kind, signal.identity))
        if customer is None:
            return
        for task in self.store.tasks_of_customer(customer.id):
            if task.channel == channel and task.status != Status.CLOSED:
                self.bus.publish(Update(seq=self.store.seq, typing={task.id: signal.typing}))

    # --- outbox ---------------------------------------------------------------

    def outbox_due(self, now: float) -> list[OutboxEntry]:
        due = [e for e in self.store.outbox() if e.next_attempt_at <= now]
        return sorted(due, key=lambda e: e.event_id)

    def next_outbox_time(self) -> float | None:
        times = [e.next_attempt_at for e in self.store.outbox()]
        return min(times) if times else None

    def outbound_for(self, entry: OutboxEntry) -> Outbound:
        return self.outbox.outbound_for(entry)

    async def delivery_succeeded(self, entry: OutboxEntry, delivery: Delivery) -> None:
        self.commit(self.outbox.delivered(entry, delivery))

    async def delivery_failed(
        self, entry: OutboxEntry, error: str, *, permanent: bool, retry_at: float | None
    ) -> None:
        batch, notices = self.outbox.delivery_failed(entry, error, permanent, retry_at)
        self.commit(batch, notices)

    # --- plugin state ---------------------------------------------------------

    def state_get(self, namespace: str, key: str, default: Any = None) -> Any:
        return self.store.get_state(namespace, key, default)

    async def state_set(self, namespace: str, key: str, value: Any) -> None:
        """Save a channel's state durably; the disk's sync runs on a worker thread
        (channels save cursors often, and the console shares this loop)."""
        self.commit(Batch(state=[(namespace, key, value)]), sync=False)
        await asyncio.to_thread(self.store.sync)

    # --- time -------------------------------------------------------------------

    def wake_snoozed(self) -> int:
        """Reopen pending tasks whose snooze time has passed; returns how many."""
        now = self.clock()
        due = [
            t
            for t in self.store.tasks([Status.PENDING])
            if t.pending_until is not None and t.pending_until <= now
        ]
        for task in due:
            batch, notices = self.commands.status(task, Status.OPEN, None, actor="system")
            self.commit(batch, notices)
        return len(due)

    def require_task(self, task_id: str) -> Task:
        task = self.store.get_task(task_id)
        if task is None:
            raise DeskError(f"no task with id {task_id}")
        return task
