"""Delivering the outbox: every queued reply goes to its channel's ``send``.

The dispatcher wakes when the desk queues a reply (``desk.outbox_wakeup``) or
when a retry falls due, and hands each due entry to a worker for its channel,
so a slow channel delays only its own replies and each channel's replies go
out in order. What a failure means:

- ``PermanentDeliveryError`` (or a ``DeliveryError`` that is not temporary):
  the message is marked failed with the reason; no retry.
- ``TemporaryDeliveryError``, ``ChannelConnectionError``, a timeout, any other
  error, or a channel that is unknown or failing: retried later with capped
  exponential backoff, the reason shown on the message.
- A channel still starting: its replies wait, without a failed try, until it
  is up (the runtime wakes the dispatcher then).

An entry stays in the store's outbox until the channel confirms it, so after a
crash or a restart it is sent again; its idempotency key lets the channel drop
the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from agentdesk.domain import OutboxEntry
from agentdesk.plugin import ChannelConnectionError, Delivery, DeliveryError, Outbound

from .backoff import Backoff

log = logging.getLogger("agentdesk.outbox")


class OutboxDesk(Protocol):
    outbox_wakeup: asyncio.Event

    def outbox_due(self, now: float) -> list[OutboxEntry]: ...
    async def outbound_for(self, entry: OutboxEntry) -> Outbound: ...
    async def delivery_succeeded(self, entry: OutboxEntry, delivery: Delivery) -> None: ...
    async def delivery_failed(
        self, entry: OutboxEntry, error: str, *, permanent: bool, retry_at: float | None
    ) -> None: ...


class ChannelSender(Protocol):
    def can_send(self, channel: str) -> str | None:
        """None when the channel can take a message now, else why not."""

    def starting(self, channel: str) -> bool:
        """Whether the channel is on its way up: its replies wait without a failed try."""

    async def send(self, channel: str, outbound: Outbound) -> Delivery: ...


class OutboxDispatcher:
    """Runs until cancelled; ``run`` is its task's body."""

    def __init__(
        self,
        desk: OutboxDesk,
        sender: ChannelSender,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        idle_wait: float = 5.0,
    ) -> None:
        self.desk = desk
        self.sender = sender
        self.backoff = backoff or Backoff(base=2.0, cap=300.0)
        self.clock = clock
        self.idle_wait = idle_wait
        self._queues: dict[str, deque[OutboxEntry]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[str] = set()
        self._retry_times: list[float] = []
        self.sent = 0

    async def run(self) -> None:
        try:
            while True:
                self.desk.outbox_wakeup.clear()
                now = self.clock()
                for entry in self.desk.outbox_due(now):
                    if entry.key in self._in_flight or self.sender.starting(entry.channel):
                        continue
                    self._in_flight.add(entry.key)
                    self._queues.setdefault(entry.channel, deque()).append(entry)
                    if entry.channel not in self._workers:
                        self._workers[entry.channel] = asyncio.create_task(
                            self._work(entry.channel), name=f"outbox-{entry.channel}"
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.desk.outbox_wakeup.wait(), self._wait_for(now))
        finally:
            workers = list(self._workers.values())
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _wait_for(self, now: float) -> float:
        """Seconds until the next retry this dispatcher scheduled (or the idle poll)."""
        self._retry_times = [t for t in self._retry_times if t > now]
        soonest = now + self.idle_wait
        next_time = getattr(self.desk, "next_outbox_time", None)
        candidates = list(self._retry_times)
        if callable(next_time):
            due = next_time()
            if due is not None and due > now:
                candidates.append(due)
        if candidates:
            soonest = min(soonest, min(candidates))
        return max(0.0, soonest - now)

    async def _work(self, channel: str) -> None:
        queue = self._queues[channel]
        try:
            while queue:
                entry = queue.popleft()
                try:
                    await self._deliver(entry)
                except Exception:
                    log.exception("outbox entry %s: recording the outcome failed", entry.key)
                finally:
                    self._in_flight.discard(entry.key)
                    self.desk.outbox_wakeup.set()
        finally:
            # No await between the empty check and this: run() sees a consistent state.
            self._workers.pop(channel, None)
            for entry in self._queues.pop(channel, ()):
                self._in_flight.discard(entry.key)

    async def _deliver(self, entry: OutboxEntry) -> None:
        try:
            outbound = await self.desk.outbound_for(entry)
        except Exception as exc:
            log.warning("outbox entry %s cannot be built: %s", entry.key, exc)
            await self._failed(entry, f"the message cannot be built: {exc}", permanent=True)
            return
        reason = self.sender.can_send(entry.channel)
        if reason is not None:
            await self._failed(entry, reason, permanent=False)
            return
        try:
            delivery = await self.sender.send(entry.channel, outbound)
        except DeliveryError as exc:
            await self._failed(entry, _message(exc), permanent=not exc.temporary)
        except (ChannelConnectionError, TimeoutError) as exc:
            await self._failed(entry, _message(exc), permanent=False)
        except Exception as exc:
            log.exception("channel %s: send raised an unexpected error", entry.channel)
            await self._failed(entry, _message(exc), permanent=False)
        else:
            self.sent += 1
            await self.desk.delivery_succeeded(entry, delivery)

    async def _failed(self, entry: OutboxEntry, error: str, *, permanent: bool) -> None:
        retry_at = None
        if not permanent:
            retry_at = self.clock() + self.backoff.delay(entry.attempts)
            self._retry_times.append(retry_at)
        await self.desk.delivery_failed(entry, error, permanent=permanent, retry_at=retry_at)


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


__all__ = ["ChannelSender", "OutboxDesk", "OutboxDispatcher"]
