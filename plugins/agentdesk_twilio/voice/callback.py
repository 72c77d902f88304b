"""Calling a customer back: ring the agent's phone, then bridge it to the customer.

Twilio's Calls API takes no idempotency key, so a call back given a ``key``
is written down before the request and its CallSid after the answer, as the
SMS channel does for replies: the same key never rings the customer twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from agentdesk.plugin import (
    ChannelConnectionError,
    DeliveryError,
    DeliveryLedger,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

from ..account import e164
from ..failures import TwilioBusy
from ..rest import AmbiguousSend, Form
from . import twiml
from .api import CallsApi
from .book import CallBook
from .settings import VoiceSettings
from .webhooks import VoiceWebhooks

#: Where the keys of call backs are kept (the SMS channel's replies use "deliveries").
STATE_KEY = "call_backs"
#: The call's progress Twilio reports to the status route.
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass(frozen=True, slots=True)
class PlacedCallBack:
    """A call back Twilio has queued."""

    sid: str
    #: The phone rung first (the agent's).
    agent_phone: str
    customer: str


class CallBacks:
    def __init__(
        self,
        settings: VoiceSettings,
        book: CallBook,
        keys: DeliveryLedger,
        webhooks: VoiceWebhooks,
        public_url: Callable[[], str | None],
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.book = book
        self.keys = keys
        self.webhooks = webhooks
        self.public_url = public_url
        self.logger = logger
        self.clock = clock
        self.api: CallsApi | None = None
        # Call backs are rare and slow: one at a time keeps a key's check and its
        # request together.
        self._lock = asyncio.Lock()

    async def place(self, customer: str, *, agent: str, key: str | None) -> PlacedCallBack:
        to = e164(customer)
        if to is None:
            raise PermanentDeliveryError(
                f"{customer[:40]!r} is not a phone number in international form "
                "(like +15017122661): Twilio needs the country code"
            )
        phone = self.settings.phone_of(agent)
        if not phone:
            raise PermanentDeliveryError(
                f"no phone is configured for {agent[:40] or 'this agent'}: add them to "
                "agent_phones (or set agent_number) in the channel's config"
            )
        if phone == to:
            raise PermanentDeliveryError("the agent's phone and the customer's are the same")
        api = self.api
        if api is None:
            raise TemporaryDeliveryError("the Twilio voice channel is not running")
        if self.public_url() is None:
            raise TemporaryDeliveryError(
                "the desk's HTTP server is not running: the call's outcome could not reach it"
            )
        async with self._lock:
            if key:
                record = self.keys.get(key)
                if record is not None and record.external_id is not None:
                    return PlacedCallBack(record.external_id, phone, to)
                if record is not None:
                    raise PermanentDeliveryError(
                        "Twilio never answered an earlier try of this call back and may have "
                        "placed it: it is not placed again (see the customer's timeline)"
                    )
                await self.keys.begin(key)
            try:
                placed = await api.create_call(self._form(to, phone))
            except AmbiguousSend:
                raise  # the key stays begun: never ring the customer twice
            except TwilioBusy as exc:
                if key and not exc.maybe_sent:
                    await self.keys.forget(key)
                raise
            except (DeliveryError, ChannelConnectionError):
                if key:
                    await self.keys.forget(key)  # refused or never arrived: nothing was placed
                raise
            if key:
                await self.keys.done(key, placed.sid)
        self.book.place(placed.sid, to, phone, self.clock())
        self.logger.info("call back %s placed: %s, then the customer", placed.sid, phone)
        return PlacedCallBack(placed.sid, phone, to)

    def _form(self, to: str, agent: str) -> Form:
        query = self.webhooks.call_back_query(to)
        dialed = self.webhooks.url(self.webhooks.paths.dialed, **query)
        return {
            "To": agent,
            "From": self.settings.number,
            "Twiml": twiml.bridge(self.settings, to, dialed),
            "StatusCallback": self.webhooks.url(self.webhooks.paths.status, **query),
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": list(STATUS_EVENTS),
            "Timeout": str(self.settings.ring_seconds),
        }
