"""Sending one reply, once per outbox key.

The order matters: a reply already sent is answered from the delivery book
before anything else (a STOP that came later does not make it fail); then
a number that opted out is refused without calling Twilio; then Twilio's
last Retry-After is honoured; only then does a request go out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from agentdesk.plugin import (
    ChannelConnectionError,
    Delivery,
    DeliveryError,
    DeliveryLedger,
    DeliveryRecord,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    sms_segments,
)

from .api import AmbiguousSend, SentMessage, TwilioApi
from .failures import OptedOut, TwilioBusy
from .optout import OptOutBook
from .settings import MAX_BODY, TwilioSettings, e164

#: How far Twilio's clock and ours may disagree when matching a message that
#: was made by a send whose answer never came.
CLOCK_SKEW = 300.0


class Sender:
    def __init__(
        self,
        settings: TwilioSettings,
        book: DeliveryLedger,
        optouts: OptOutBook,
        status_url: Callable[[str], str | None],
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.book = book
        self.optouts = optouts
        self.status_url = status_url
        self.logger = logger
        self.clock = clock
        self.api: TwilioApi | None = None
        #: Twilio's Retry-After: no request before this time (``clock``'s).
        self.hold_until = 0.0
        self._in_flight: dict[str, asyncio.Future[Delivery]] = {}

    async def send(self, outbound: Outbound) -> Delivery:
        to = check_reply(outbound)
        record = self.book.get(outbound.key)
        if record is not None and record.external_id is not None:
            return Delivery(external_id=record.external_id, detail="already sent")
        running = self._in_flight.get(outbound.key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._in_flight[outbound.key] = future
        try:
            delivery = await self._send_once(outbound, to, record)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure nobody else awaited is not logged
            raise
        else:
            future.set_result(delivery)
            return delivery
        finally:
            del self._in_flight[outbound.key]

    async def _send_once(
        self, outbound: Outbound, to: str, earlier: DeliveryRecord | None
    ) -> Delivery:
        if self.optouts.opted_out(to):
            raise OptedOut()
        api = self.api
        if api is None:
            raise TemporaryDeliveryError("the Twilio channel is not running")
        wait = self.hold_until - self.clock()
        if wait > 0:
            raise TwilioBusy(f"Twilio asked us to wait; retrying in {wait:.0f} s", wait)
        count = sms_segments(outbound.text)
        detail = f"{count.segments} segment{'s' if count.segments != 1 else ''} ({count.encoding})"
        if earlier is not None:
            # A send of this key began and its answer never came: Twilio may have it.
            found = await self._find_earlier(api, to, outbound.text, earlier)
            if found is not None:
                await self.book.done(outbound.key, found.sid)
                self.logger.info("reply %s had reached Twilio as %s", outbound.key, found.sid)
                return Delivery(external_id=found.sid, detail=detail)
        await self.book.begin(outbound.key)
        try:
            message = await api.create_message(self._form(outbound, to))
        except AmbiguousSend:
            raise  # the key stays begun: the retry looks before it sends
        except TwilioBusy as exc:
            if exc.retry_after:
                self.hold_until = self.clock() + exc.retry_after
            if not exc.maybe_sent:
                await self.book.forget(outbound.key)
            raise
        except OptedOut:
            await self.book.forget(outbound.key)
            self.optouts.opt_out(to, "Twilio 21610")
            await self.optouts.save(to)
            raise
        except (DeliveryError, ChannelConnectionError):
            await self.book.forget(outbound.key)  # refused or never arrived: nothing was made
            raise
        await self.book.done(outbound.key, message.sid)
        return Delivery(external_id=message.sid, detail=detail)

    def _form(self, outbound: Outbound, to: str) -> dict[str, str]:
        form = {"To": to, "Body": outbound.text}
        if self.settings.messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            form["From"] = self.settings.from_number
        callback = self.status_url(outbound.key) if self.settings.status_callbacks else None
        if callback:
            form["StatusCallback"] = callback
        return form

    async def _find_earlier(
        self, api: TwilioApi, to: str, text: str, earlier: DeliveryRecord
    ) -> SentMessage | None:
        """The message an unanswered send made, if Twilio has it: same number and
        text, made after that send began, and not credited to another reply."""
        taken = self.book.known_ids()
        for message in await api.recent_messages(to):
            if message.sid in taken or message.body != text:
                continue
            if message.created is None or message.created >= earlier.began - CLOCK_SKEW:
                return message
        return None


def check_reply(outbound: Outbound) -> str:
    """The number to send to; PermanentDeliveryError when the reply cannot be an SMS."""
    if not outbound.to.strip():
        raise PermanentDeliveryError("the reply has no phone number to go to")
    to = e164(outbound.to)
    if to is None:
        raise PermanentDeliveryError(
            f"{outbound.to[:40]!r} is not a phone number in international form "
            "(like +15017122661): Twilio needs the country code"
        )
    if not outbound.text.strip():
        raise PermanentDeliveryError("the reply is empty")
    if len(outbound.text) > MAX_BODY:
        count = sms_segments(outbound.text)
        raise PermanentDeliveryError(
            f"the reply is {len(outbound.text)} characters ({count.segments} segments); "
            f"an SMS through Twilio takes at most {MAX_BODY}"
        )
    return to
