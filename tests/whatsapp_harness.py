"""What the WhatsApp channel's tests share: the channel started against the
local Cloud API server, served on loopback, and a desk that knows it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from agentdesk_whatsapp import WhatsAppChannel
from servers.whatsapp_cloud import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeCloudApi,
)

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.plugin import HealthState, Inbound, InboundMessage, Outbound
from agentdesk.plugin.testing import MemoryState, RecordingContext, serve

CUSTOMER = "33612345678"
STEP = 5.0


def channel_options(meta: FakeCloudApi, **more: Any) -> dict[str, Any]:
    return {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "api_base": meta.url,
        **more,
    }


@dataclass
class WhatsApp:
    """A started channel named "wa", served on loopback, and the fake Cloud API."""

    channel: WhatsAppChannel
    ctx: RecordingContext
    meta: FakeCloudApi

    @property
    def webhook_url(self) -> str:
        return self.ctx.url(self.channel.webhook_path)

    def reply(
        self, text: str = "Your parcel left today.", key: str = "r1", to: str = CUSTOMER, **kw: Any
    ) -> Outbound:
        return Outbound(key=key, to=to, text=text, task_id="t1", task_number=1, agent="Sam", **kw)

    async def post(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.meta.post(self.webhook_url, payload, **kw)

    async def text_in(self, body: str, sender: str = CUSTOMER, **kw: Any) -> httpx.Response:
        response = await self.post(self.meta.text(sender, body, **kw))
        assert response.status_code == 200, response.text
        return response

    async def next(self) -> Inbound:
        return await self.ctx.next_inbound(STEP)

    async def next_message(self) -> InboundMessage:
        item = await self.next()
        assert isinstance(item, InboundMessage), item
        return item

    async def settle(self) -> None:
        """Let the receiver finish what it was handed."""
        await asyncio.sleep(0.2)


class GatedContext(RecordingContext):
    """A context whose desk takes nothing until ``gate`` is set: a stuck desk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()

    async def emit(self, item: Inbound) -> None:
        await self.gate.wait()
        await super().emit(item)


@contextlib.asynccontextmanager
async def running(
    meta: FakeCloudApi,
    *,
    state: MemoryState | None = None,
    data_dir: Path | None = None,
    context_class: type[RecordingContext] = RecordingContext,
    **more: Any,
) -> AsyncIterator[WhatsApp]:
    ctx = context_class.for_channel(
        WhatsAppChannel,
        channel_options(meta, **more),
        channel_name="wa",
        state=state,
        data_dir=data_dir,
    )
    try:
        async with serve(ctx):
            channel = WhatsAppChannel(ctx)
            await channel.start()
            try:
                yield WhatsApp(channel, ctx, meta)
            finally:
                await channel.stop()
    finally:
        ctx.close()


def whatsapp_desk(desk: Desk, channel: WhatsAppChannel, name: str = "wa") -> Desk:
    """The test desk, with a channel ``name`` of this plugin registered."""
    desk.declare_identity_kinds(WhatsAppChannel.identity_kinds)
    desk.register_channel(ChannelStatus(name, "whatsapp", channel.capabilities, HealthState.UP))
    return desk


async def wait_until(check: Any, timeout: float = STEP) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.02)
