"""Inbound items into the store: planned one by one, committed in groups.

What every channel hands in while the store's thread is busy goes into the
next transaction together, with one sync: each item is planned against the
state its predecessors left, so two messages of a new customer in one group
still make one customer and one task.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from agentdesk.api import Update
from agentdesk.domain import Status
from agentdesk.plugin import Capabilities, DeliveryReceipt, TypingSignal
from agentdesk.store import Batch, DuplicateKey, Store, WriteGroup

from . import outbox_book
from .context import PlanContext
from .ingest import Ingestor, IngestResult
from .store_thread import StoreThread
from .stream import Notice

log = logging.getLogger("agentdesk.desk")

# Inbound items in one ingest transaction, at most: bounds the wait of the first.
GROUP_ITEMS = 512

Waiting = tuple[str, list[Any], "asyncio.Future[list[Any]]"]


class Inflow:
    """The ingest side of one desk."""

    def __init__(
        self,
        store: Store,
        thread: StoreThread,
        ingestor: Ingestor,
        *,
        clock: Callable[[], float],
        capabilities: Callable[[str], Capabilities],
        published: Callable[[int, Batch, list[Notice]], None],
        publish: Callable[[Update], Any],
        context: Callable[[], PlanContext],
    ) -> None:
        self.store = store
        self.thread = thread
        self.ingestor = ingestor
        self.clock = clock
        self.capabilities = capabilities
        self.published = published
        self.publish = publish
        self.context = context
        self._waiting: deque[Waiting] = deque()
        self._committer: asyncio.Task[None] | None = None

    async def ingest(self, channel: str, item: Any) -> IngestResult | None:
        (result,) = await self.ingest_many(channel, [item])
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    async def ingest_many(
        self, channel: str, items: list[Any]
    ) -> list[IngestResult | Exception | None]:
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((channel, items, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await done

    async def _commit_waiting(self) -> None:
        while self._waiting:
            work: list[Waiting] = []
            size = 0
            while self._waiting and (not work or size + len(self._waiting[0][1]) <= GROUP_ITEMS):
                work.append(self._waiting.popleft())
                size += len(work[-1][1])
            try:
                outcome = await self.thread.run(self._group, [(c, i) for c, i, _ in work])
            except Exception as exc:  # the transaction failed: none of it was stored
                for _, _, done in work:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, _, done), (results, updates) in zip(work, outcome, strict=True):
                for update in updates:
                    if isinstance(update, Update):
                        self.publish(update)
                    else:
                        self.published(*update)
                if not done.done():
                    done.set_result(results)

    def _group(self, work: list[tuple[str, list[Any]]]) -> list[tuple[list[Any], list[Any]]]:
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
                        results.append(self._one(group, channel, item, updates))
                    except Exception as exc:
                        results.append(exc)
                outcome.append((results, updates))
        return outcome

    def _one(self, group: WriteGroup, channel: str, item: Any, updates: list[Any]) -> Any:
        if isinstance(item, DeliveryReceipt):
            batch = outbox_book.plan_receipt(self.context(), channel, item).batch
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
        identity = self.ingestor.kinds().identity(caps.identity_kind, signal.identity)
        customer = self.store.customer_by_identity(identity)
        if customer is None:
            return []
        return [
            Update(seq=self.store.seq, typing={task.id: signal.typing})
            for task in self.store.tasks_of_customer(customer.id)
            if task.channel == channel and task.status != Status.CLOSED
        ]
