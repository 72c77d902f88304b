"""From the webhook's answer to the desk: the work done after Meta was answered.

The webhook only checks, spools and queues; this receiver's one task turns
each message into an ``InboundMessage`` (fetching its media) and each status
into a delivery receipt, so a slow desk or a slow download never holds up
Meta's request. An item leaves the spool once the desk has stored it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from agentdesk.plugin import DeliveryLedger, DeliveryReceipt, PluginContext

from .events import IncomingMessage, Item, StatusReport
from .failures import status_problem
from .inbound import to_inbound
from .media import MediaStore
from .spool import Spool

#: State key written after emitting: the write returns once the desk stored them.
LAST_INBOUND = "last_inbound"
#: Items remembered to drop one Meta delivers twice.
RECENT = 4000
#: Items handled before the desk is asked to confirm they are stored.
BATCH = 50
#: What becomes a receipt; "sent" adds nothing to what ``send`` said.
_RECEIPTS = {"delivered": "delivered", "read": "read"}


class Receiver:
    def __init__(self, context: PluginContext, spool: Spool, ledger: DeliveryLedger) -> None:
        self.context = context
        self.spool = spool
        self.ledger = ledger
        self.media: MediaStore | None = None
        self.logger: logging.Logger = context.logger
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.running = False
        self._recent: OrderedDict[str, None] = OrderedDict()

    # -- called by the webhook (quick, never waits for the desk) -----------------

    async def take(self, items: list[Item]) -> None:
        """Spool and queue what a notification held; OSError when it cannot be kept
        (the webhook then answers 503, and Meta sends it again)."""
        fresh = [item for item in items if self._claim(item.spool_key)]
        if not fresh:
            return
        try:
            await self.spool.put(fresh)
        except OSError:
            for item in fresh:
                self._recent.pop(item.spool_key, None)
            raise
        if self.running:
            for item in fresh:
                self.queue.put_nowait(item)

    def _claim(self, key: str) -> bool:
        if key in self._recent:
            return False
        self._recent[key] = None
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return True

    # -- the task ----------------------------------------------------------------

    async def run(self) -> None:
        """Hand leftovers of an earlier run to the desk, then work as webhooks come."""
        self.running = True
        try:
            # The spool holds every item not yet stored, also those that came
            # while the receiver was stopped: it replaces whatever was queued.
            while not self.queue.empty():
                self.queue.get_nowait()
            for item in await self.spool.load():
                self._claim(item.spool_key)
                self.queue.put_nowait(item)
            while True:
                batch = [await self.queue.get()]
                while not self.queue.empty() and len(batch) < BATCH:
                    batch.append(self.queue.get_nowait())
                await self._handle(batch)
        finally:
            self.running = False

    async def _handle(self, batch: list[Item]) -> None:
        done: list[str] = []
        for item in batch:
            try:
                if isinstance(item, IncomingMessage):
                    await self.context.emit(await to_inbound(item, self.media))
                else:
                    await self._status(item)
            except Exception:
                # The item stays spooled and comes back at the next start.
                self.logger.exception("could not hand a %s to the desk", type(item).__name__)
                continue
            done.append(item.spool_key)
        if done:
            # Returns once the desk has stored what was emitted: the files may go.
            await self.context.state.set(LAST_INBOUND, done[-1])
            await self.spool.remove(done)

    async def _status(self, report: StatusReport) -> None:
        key = self.ledger.key_for(report.message_id)
        if key is None and report.key is not None and self.ledger.get(report.key) is not None:
            # The reply's key rides in biz_opaque_callback_data: it settles a
            # send whose answer never came.
            key = report.key
            await self.ledger.learn(key, report.message_id)
        if key is None:
            self.logger.debug("status %s of a message that is not a reply of ours", report.status)
            return
        receipt = _RECEIPTS.get(report.status)
        if receipt is not None:
            await self.context.emit(DeliveryReceipt(key=key, state=receipt))
        elif report.status == "failed":
            first = report.errors[0] if report.errors else None
            problem = (
                status_problem(first.code, first.title, first.details, report.recipient)
                if first is not None
                else "no reason given"
            )
            # The plugin API has no receipt for a late failure: the log says it.
            self.logger.warning("reply %s was not delivered: %s", key, problem)
