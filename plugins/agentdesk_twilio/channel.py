"""The Twilio SMS channel: texts in through a webhook, replies out through the REST API."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from agentdesk.plugin import (
    Capabilities,
    Delivery,
    DeliveryLedger,
    Option,
    Outbound,
    PluginContext,
)

from .api import TwilioApi
from .failures import OPTED_OUT
from .guard import webhook_detail
from .inbound import IncomingSms
from .lifecycle import TwilioChannel
from .media import MediaStore
from .optout import OptOutBook
from .receiver import Receiver
from .sender import Sender
from .settings import MAX_BODY, OPTIONS, build_settings, e164
from .spool import Spool
from .webhook import Webhooks

INBOUND_PATH = "/inbound"
STATUS_PATH = "/status"


class TwilioSmsChannel(TwilioChannel):
    """SMS and MMS with the customers of one Twilio number (or Messaging Service).

    Routes, under ``/channels/<name>``: ``/inbound`` (Twilio's "A message comes
    in" webhook) and ``/status`` (the status callback of each reply).
    """

    plugin: ClassVar[str] = "twilio-sms"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "SMS and MMS through a Twilio number or Messaging Service"
    needs_http: ClassVar[bool] = True
    capabilities = Capabilities(
        kind="sms",
        identity_kind="phone",
        max_text_length=MAX_BODY,
        segment_length=160,
        attachments=True,
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)
        self._book = DeliveryLedger(context.state)
        self._optouts = OptOutBook(context.state)
        spool = Spool(context.data_dir / "spool", IncomingSms.from_json)
        self._receiver = Receiver(context, spool, self._optouts, self._book, None)
        self._sender = Sender(
            self.settings, self._book, self._optouts, self._status_url, context.logger
        )
        webhooks = Webhooks(
            auth_token=self.settings.auth_token,
            public_url=lambda: context.base_url,
            on_incoming=self._receiver.take_incoming,
            on_status=self._receiver.take_status,
            logger=context.logger,
        )
        #: Full paths of the routes on the desk's server (paste their URLs in Twilio's console).
        self.inbound_path = context.add_route(INBOUND_PATH, webhooks.incoming, methods=("POST",))
        self.status_path = context.add_route(STATUS_PATH, webhooks.status, methods=("POST",))

    # -- lifecycle -----------------------------------------------------------------

    def timeout(self) -> float:
        return self.settings.timeout

    def attach(self, client: httpx.AsyncClient) -> None:
        self._sender.api = TwilioApi(self.settings, client)
        self._receiver.media = MediaStore(
            self.settings, client, self.context.data_dir / "media", self.context.logger
        )

    def detach(self) -> None:
        self._sender.api = None
        self._receiver.media = None

    def drain(self) -> Coroutine[Any, Any, None]:
        return self._receiver.run()

    def webhook_detail(self) -> str:
        return webhook_detail(self.context.base_url, self.inbound_path, self.context.logger)

    # -- sending ---------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        """Send the reply once per key (see ``Sender``); a refused login degrades the channel."""
        return await self.guarded(self._sender.send(outbound))

    def _status_url(self, key: str) -> str | None:
        """Where Twilio reports this reply's delivery; the key rides in the URL,
        which Twilio signs, so the callback names its reply without a lookup."""
        base = self.context.base_url
        if base is None:
            return None
        return f"{base}{self.status_path}?key={quote(key, safe='')}"

    def refuse(self, to: str, text: str) -> str | None:
        """Before a reply is queued: a customer who texted STOP gets nothing
        until they text START (Twilio would refuse it too, error 21610)."""
        number = e164(to)
        if number is not None and self._optouts.opted_out(number):
            return f"{OPTED_OUT}; they can text START to hear from you again"
        return None

    def is_opted_out(self, number: str) -> bool:
        """Whether ``number`` texted STOP (and not START since)."""
        return self._optouts.opted_out(number)
