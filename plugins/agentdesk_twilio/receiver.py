"""From a webhook's answer to the desk: the work done after Twilio was answered.

The webhook only checks, spools and queues; this receiver's one task turns
each incoming message into an ``InboundMessage`` (fetching its media) and
each status callback into a delivery receipt, so a slow desk or a slow media
download never holds up Twilio's request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from agentdesk.plugin import DeliveryLedger, DeliveryReceipt, InboundMessage, PluginContext

from .failures import CODE_OPTED_OUT, status_problem
from .inbound import IncomingSms, StatusReport
from .media import MediaStore
from .optout import OptOutBook
from .spool import Spool

#: Customer attribute naming the standing of the number (kept on the customer).
OPT_OUT_ATTRIBUTE = "sms_opt_out"
#: State key written after emitting: the write returns once the desk stored them.
LAST_INBOUND = "last_inbound"
#: MessageSids remembered to drop a webhook Twilio delivers twice.
RECENT = 2000
#: Items handled before the desk is asked to confirm they are stored.
BATCH = 50
#: What becomes a receipt; "queued", "sent"... add nothing to what send said.
_RECEIPTS = {"delivered": "delivered", "read": "read"}
_FAILED = {"failed", "undelivered"}

Work = IncomingSms | StatusReport


class Receiver:
    def __init__(
        self,
        context: PluginContext,
        spool: Spool[IncomingSms],
        optouts: OptOutBook,
        book: DeliveryLedger,
        media: MediaStore | None,
    ) -> None:
        self.context = context
        self.spool = spool
        self.optouts = optouts
        self.book = book
        self.media = media
        self.logger: logging.Logger = context.logger
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self.running = False
        self._recent: OrderedDict[str, None] = OrderedDict()

    # -- called by the webhooks (quick, never waits for the desk) ---------------

    def claim(self, sid: str) -> bool:
        """False when this MessageSid was taken already (Twilio sent it again)."""
        if sid in self._recent:
            return False
        self._recent[sid] = None
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return True

    async def take_incoming(self, sms: IncomingSms) -> None:
        if not self.claim(sms.sid):
            self.logger.debug("message %s came again; dropped", sms.sid)
            return
        if sms.opt_out is not None:
            self.optouts.mark(sms.sender, stop=sms.opt_out == "stop", word=sms.body)
        try:
            await self.spool.put(sms)
        except OSError as exc:
            # Still handed on; only a crash before the desk stores it would lose it.
            self.logger.error("message %s could not be spooled: %s", sms.sid, exc)
        if self.running:
            self.queue.put_nowait(sms)

    def take_status(self, report: StatusReport) -> None:
        if self.running:
            self.queue.put_nowait(report)

    # -- the task ------------------------------------------------------------------

    async def run(self) -> None:
        """Hand leftovers of an earlier run to the desk, then work as webhooks come."""
        self.running = True
        try:
            # The spool holds every message not yet stored, also those that came
            # while the receiver was stopped: it replaces whatever was queued.
            while not self.queue.empty():
                self.queue.get_nowait()
            for sms in await self.spool.load():
                self.claim(sms.sid)
                self.queue.put_nowait(sms)
            while True:
                batch = [await self.queue.get()]
                while not self.queue.empty() and len(batch) < BATCH:
                    batch.append(self.queue.get_nowait())
                await self._handle(batch)
        finally:
            self.running = False

    async def _handle(self, batch: list[Work]) -> None:
        stored: list[str] = []
        for item in batch:
            try:
                if isinstance(item, IncomingSms):
                    await self._incoming(item)
                    stored.append(item.sid)
                else:
                    await self._status(item)
            except Exception:
                # This item stays spooled (for an SMS) and comes back at the next start.
                self.logger.exception("could not hand %s to the desk", item.sid)
        if stored:
            # Returns once the desk has stored what was emitted: the files may go.
            await self.context.state.set(LAST_INBOUND, stored[-1])
            for sid in stored:
                await self.spool.remove(sid)

    async def _incoming(self, sms: IncomingSms) -> None:
        attachments = await self.media.attachments(sms) if self.media is not None else ()
        attributes: dict[str, str] = {}
        if sms.opt_out == "stop":
            attributes[OPT_OUT_ATTRIBUTE] = f"yes (texted {sms.body.strip().upper()[:40]})"
        elif sms.opt_out == "start":
            attributes[OPT_OUT_ATTRIBUTE] = "no"
        await self.context.emit(
            InboundMessage(
                identity=sms.sender,
                text=sms.body,
                external_id=sms.sid,
                at=sms.received_at or None,
                attachments=attachments,
                attributes=attributes,
            )
        )
        if sms.opt_out is not None:
            await self.optouts.save(sms.sender)

    async def _status(self, report: StatusReport) -> None:
        key = report.key or self.book.key_for(report.sid)
        if key is None:
            self.logger.debug("status %s of %s: not a reply of ours", report.status, report.sid)
            return
        await self.book.learn(key, report.sid)
        receipt = _RECEIPTS.get(report.status)
        if receipt is not None:
            await self.context.emit(DeliveryReceipt(key=key, state=receipt))
        elif report.status in _FAILED:
            problem = status_problem(report.error_code)
            # The plugin API has no receipt for a late failure: the log says it.
            self.logger.warning(
                "reply %s (message %s) was %s: %s", key, report.sid, report.status, problem
            )
            if report.error_code == str(CODE_OPTED_OUT) and report.recipient:
                self.optouts.opt_out(report.recipient, f"Twilio {CODE_OPTED_OUT}")
                await self.optouts.save(report.recipient)
