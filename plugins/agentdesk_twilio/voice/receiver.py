"""From the voice webhooks' answers to the desk: the work done after Twilio was answered.

The webhooks only check, spool and queue each request; this receiver's one
task folds the requests into the call book, hands finished calls to the
desk, and removes the spooled requests once the desk has stored what came
of them. A slow desk never holds up Twilio's requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from agentdesk.plugin import Inbound, InboundCall, PluginContext

from ..spool import Spool
from .book import CallBook
from .events import CallEvent

#: Requests handled before the desk is asked to confirm what came of them is stored.
BATCH = 50


class CallReceiver:
    def __init__(
        self,
        context: PluginContext,
        spool: Spool[CallEvent],
        book: CallBook,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.context = context
        self.spool = spool
        self.book = book
        self.clock = clock
        self.logger: logging.Logger = context.logger
        self.queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        self.running = False

    # -- called by the webhooks (quick, never waits for the desk) ---------------

    async def take(self, event: CallEvent) -> None:
        try:
            await self.spool.put(event)
        except OSError as exc:
            # Still handed on; only a crash before the desk stores it would lose it.
            self.logger.error("call event %s could not be spooled: %s", event.sid, exc)
        if self.running:
            self.queue.put_nowait(event)

    # -- the task ------------------------------------------------------------------

    async def run(self) -> None:
        """Replay what an earlier run left in the spool, then work as requests come."""
        self.running = True
        try:
            # The spool holds every request not yet settled, also those that came
            # while the receiver was stopped: it replaces whatever was queued.
            while not self.queue.empty():
                self.queue.get_nowait()
            for event in await self.spool.load():
                self.queue.put_nowait(event)
            while True:
                batch = await self._next_batch()
                await self._handle(batch)
        finally:
            self.running = False

    async def _next_batch(self) -> list[CallEvent]:
        """The queued requests, or none once the book's next deadline passes."""
        deadline = self.book.next_deadline()
        wait = None if deadline is None else max(0.0, deadline - self.clock())
        batch: list[CallEvent] = []
        if self.queue.empty() and wait != 0.0:
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), wait))
            except TimeoutError:
                return batch
        while not self.queue.empty() and len(batch) < BATCH:
            batch.append(self.queue.get_nowait())
        return batch

    async def _handle(self, batch: list[CallEvent]) -> None:
        ready: list[Inbound] = []
        settled: list[CallEvent] = []
        for event in batch:
            try:
                ready.extend(self.book.apply(event))
            except Exception:
                # This request stays spooled and comes back at the next start.
                self.logger.exception("could not take call event %s", event.sid)
                continue
            settled.append(event)
        ready.extend(self.book.due(self.clock()))
        if not batch and not ready:
            return
        records = [item for item in ready if isinstance(item, InboundCall)]
        words = [item for item in ready if not isinstance(item, InboundCall)]
        for record in records:
            await self.context.emit(record)
        if records and words:
            # A transcription threads onto its call record by CallSid: the record
            # must be stored first, and saving waits until it is.
            await self.book.save()
        for item in words:
            await self.context.emit(item)
        # Returns once the desk has stored what was emitted: the files may go.
        await self.book.save()
        for event in settled:
            await self.spool.remove(event.sid)
