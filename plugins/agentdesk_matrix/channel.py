"""The matrix channel: a bot account on a homeserver, one direct room per customer."""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

import httpx

from agentdesk.plugin import (
    Capabilities,
    Channel,
    ChannelConnectionError,
    Delivery,
    DeliveryLedger,
    Health,
    HealthState,
    IdentityKind,
    Option,
    Outbound,
    PluginContext,
)

from .api import MatrixApi
from .login import BotLogin
from .media import MediaStore
from .receipts import ReadTracker
from .receiver import Receiver
from .rooms import RoomBook
from .sender import MAX_TEXT, Sender
from .settings import OPTIONS, USER_ID, build_settings
from .syncer import TIMELINE_LIMIT, Syncer

#: How long the customer's client shows the bot typing without a new signal.
TYPING_MS = 30_000

MATRIX_USER = IdentityKind(
    "matrix",
    label="Matrix user",
    pattern=USER_ID.pattern,
    example="@ana:example.org",
    case_sensitive=False,
)


class MatrixChannel(Channel):
    """Customers write to the bot in a direct room; agents answer in that room."""

    plugin: ClassVar[str] = "matrix"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "direct messages with a bot account on a Matrix homeserver"
    identity_kinds: ClassVar[tuple[IdentityKind, ...]] = (MATRIX_USER,)
    capabilities = Capabilities(
        kind="social",
        identity_kind="matrix",
        realtime=True,
        max_text_length=MAX_TEXT,
        attachments=True,
        typing_indicators=True,
        read_receipts=True,
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS
    #: Events per room in one sync (a longer absence is read back page by page).
    timeline_limit: ClassVar[int] = TIMELINE_LIMIT

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)
        self.rooms = RoomBook(context.state)
        self.ledger = DeliveryLedger(context.state)
        self.tracker = ReadTracker(context.state)
        self.login = BotLogin(self.settings, context.state)
        self._client: httpx.AsyncClient | None = None
        self._api: MatrixApi | None = None
        self._sender: Sender | None = None
        self._receiver: Receiver | None = None
        self._task: asyncio.Task[None] | None = None
        self._health = Health(HealthState.STOPPED)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Return at once: the sync task signs in, and reports how that goes."""
        if self._task is not None:
            return
        client = self.context.http_client()
        api = MatrixApi(self.settings.homeserver, client)
        media = MediaStore(
            api, self.context.data_dir / "media", self.settings.max_media_bytes, self.context.logger
        )
        receiver = Receiver(
            self.context, self.settings, api, self.rooms, self.tracker, self.ledger, media
        )
        syncer = Syncer(
            self.context,
            self.settings,
            api,
            self.login,
            receiver,
            self._set_health,
            timeline_limit=self.timeline_limit,
        )
        self._client, self._api, self._receiver = client, api, receiver
        self._sender = Sender(
            api, self.login, self.rooms, self.ledger, self.tracker, self.context.logger
        )
        self._set_health(Health(HealthState.STARTING, f"signing in to {self.settings.homeserver}"))
        self._task = self.context.spawn(syncer.run(), name=f"matrix-{self.context.channel_name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._sender = self._receiver = self._api = None
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._health.state != HealthState.STOPPED:
            self._set_health(Health(HealthState.STOPPED))

    def health(self) -> Health:
        return self._health

    def _set_health(self, health: Health) -> None:
        if health != self._health:
            self._health = health
            self.context.report(health)

    # -- talking to customers -----------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        if self._sender is None:
            raise ChannelConnectionError("the matrix channel is not started")
        return await self._sender.send(outbound)

    async def send_typing(self, to: str, typing: bool = True) -> None:
        """Typing in the customer's room; nothing when the bot has no room with them
        (a room is opened by a reply, not by typing)."""
        room = self.rooms.room_of(to)
        if self._api is None or room is None:
            return
        await self.login.ensure(self._api)
        await self._api.typing(room, self.settings.user_id, typing, TYPING_MS)

    async def mark_read(self, to: str, external_ids: tuple[str, ...]) -> None:
        """A read receipt on the latest of the customer's messages: Matrix receipts
        say "read up to here", so one covers those before it."""
        if self._api is None or not external_ids:
            return
        latest = external_ids[-1]
        known = self._receiver.event_rooms.get(latest) if self._receiver is not None else None
        room = known or self.rooms.room_of(to)
        if room is None:
            return
        await self.login.ensure(self._api)
        await self._api.receipt(room, latest)

    def room_of(self, user_id: str) -> str | None:
        """The direct room replies to ``user_id`` go to, if there is one."""
        return self.rooms.room_of(user_id)
