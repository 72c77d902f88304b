"""The WhatsApp channel: Meta's Cloud API for one business number."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx

from agentdesk.plugin import (
    Capabilities,
    Channel,
    Delivery,
    DeliveryLedger,
    Health,
    HealthState,
    IdentityKind,
    Option,
    Outbound,
    PluginContext,
    SampleWebhook,
    is_loopback,
)

from .failures import GraphError, TokenRefused, is_login_error, login_problem
from .graph import GraphApi, reason
from .identity import WHATSAPP, wa_id
from .media import MediaStore
from .receiver import Receiver
from .sample import sample_webhook
from .sender import Sender
from .settings import MAX_TEXT, OPTIONS, build_settings
from .spool import Spool
from .webhook import Webhook

WEBHOOK_PATH = "/webhook"
T = TypeVar("T")


class WhatsAppChannel(Channel):
    """WhatsApp conversations with the customers of one business number.

    One route, under ``/channels/<name>``: ``/webhook``, the Callback URL of
    the Meta app's WhatsApp webhook (GET verifies it, POST notifies).
    """

    plugin: ClassVar[str] = "whatsapp"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "WhatsApp Business through Meta's Cloud API"
    needs_http: ClassVar[bool] = True
    identity_kinds: ClassVar[tuple[IdentityKind, ...]] = (WHATSAPP,)
    capabilities = Capabilities(
        kind="social",
        identity_kind="whatsapp",
        max_text_length=MAX_TEXT,
        attachments=True,
        read_receipts=True,
        reply_window_hours=24,
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)
        # The templates come from the options: this instance's own capabilities.
        self.capabilities = dataclasses.replace(
            type(self).capabilities, templates=self.settings.templates
        )
        self._ledger = DeliveryLedger(context.state)
        self._receiver = Receiver(context, Spool(context.data_dir / "spool"), self._ledger)
        self._sender = Sender(self.settings, self._ledger, context.logger)
        webhook = Webhook(
            phone_number_id=self.settings.phone_number_id,
            app_secret=self.settings.app_secret,
            verify_token=self.settings.verify_token,
            on_items=self._receiver.take,
            logger=context.logger,
        )
        #: The route's full path on the desk's server (its URL goes in Meta's app settings).
        self.webhook_path = context.add_route(
            WEBHOOK_PATH, webhook.endpoint, methods=("GET", "POST")
        )
        self._api: GraphApi | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._health = Health(HealthState.STOPPED)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is not None:
            return
        client = self.context.http_client(timeout=httpx.Timeout(self.settings.timeout))
        self._client = client
        api = GraphApi(self.settings, client)
        self._api = self._sender.api = api
        self._receiver.media = MediaStore(
            api,
            self.context.data_dir / "media",
            self.settings.max_media_bytes,
            self.context.logger,
        )
        name = f"whatsapp-{self.context.channel_name}"
        self._tasks = [
            self.context.spawn(self._receiver.run(), name=name),
            self.context.spawn(self._check_login(api), name=f"{name}-login"),
        ]
        self._set_health(Health(HealthState.UP, self.webhook_detail()))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._api = self._sender.api = None
        self._receiver.media = None
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._health.state != HealthState.STOPPED:
            self._set_health(Health(HealthState.STOPPED))

    def health(self) -> Health:
        return self._health

    async def _check_login(self, api: GraphApi) -> None:
        """Ask Meta for the business number: a refused token shows at once, not at
        the first reply. Never raises: a failed check is a health line."""
        try:
            found = await api.phone_number()
        except httpx.HTTPError as exc:
            self._degrade(f"WhatsApp's API cannot be reached: {reason(exc)}")
            return
        if isinstance(found, GraphError):
            if is_login_error(found):
                self._degrade(login_problem(found))
            elif found.code == 100:
                self._degrade(
                    f"phone_number_id {self.settings.phone_number_id} is not a number this "
                    f"access token can use {found.tag}"
                )
            else:
                self._degrade(f"Meta refused to describe the number: {found.message} {found.tag}")
            return
        number = str(found.get("display_phone_number") or "")
        name = str(found.get("verified_name") or "")
        shown = f"{number} ({name})" if name else number
        self._set_health(Health(HealthState.UP, f"{shown}; {self.webhook_detail()}".lstrip("; ")))

    def webhook_detail(self) -> str:
        base = self.context.base_url
        if base is None:
            return "the desk's HTTP server is not running: Meta cannot reach the webhook"
        url = base + self.webhook_path
        if is_loopback(urlsplit(base).hostname or ""):
            self.context.logger.warning(
                "the webhook is %s, which Meta cannot reach: set [http] public_url", url
            )
            return f"webhook {url} (loopback: set [http] public_url for Meta)"
        return f"webhook {url}"

    def _degrade(self, why: str) -> None:
        if self._client is not None:
            self._set_health(Health(HealthState.DEGRADED, why))

    def _set_health(self, health: Health) -> None:
        self._health = health
        self.context.report(health)

    async def _guarded(self, call: Awaitable[T]) -> T:
        """A call to Meta: a refused token degrades the channel, and the next
        call that works brings it back up."""
        try:
            result = await call
        except TokenRefused as exc:
            self._degrade(str(exc))
            raise
        if self._health.state == HealthState.DEGRADED and self._client is not None:
            self._set_health(Health(HealthState.UP, self.webhook_detail()))
        return result

    # -- what the desk asks -----------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        """Send the reply once per key (see ``Sender``)."""
        return await self._guarded(self._sender.send(outbound))

    async def mark_read(self, to: str, external_ids: tuple[str, ...]) -> None:
        """Blue ticks: marking the latest message read marks those before it too."""
        api = self._api
        if api is None or not external_ids or wa_id(to) is None:
            return
        payload = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": external_ids[-1],
        }
        await self._guarded(api.post_message(payload, to=to))

    # The base class declares a plain attribute; the plugin API allows a property
    # that signs the sample with the configured App secret.
    @property
    def sample_webhook(self) -> SampleWebhook:  # type: ignore[override]
        return sample_webhook(WEBHOOK_PATH, self.settings.phone_number_id, self.settings.app_secret)
