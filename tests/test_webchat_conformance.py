"""The web chat channel passes the plugin conformance kit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentdesk_webchat import WebChatChannel
from agentdesk_webchat.sessions import new_session_id
from websockets.asyncio.client import connect

from agentdesk.plugin import Channel, HealthState, Outbound
from agentdesk.plugin.testing import ChannelContract, RecordingContext

STEP = 5.0


class TestWebChatContract(ChannelContract):
    channel_class = WebChatChannel
    options: dict[str, Any] = {}
    channel_name = "webchat"

    async def _visit(self, ctx: RecordingContext, frames: list[dict[str, Any]]) -> list[dict]:
        """Open the chat as a browser would, send ``frames`` after hello, and return
        every frame the desk sent until it answered a closing ping."""
        url = ctx.url(f"/channels/{ctx.channel_name}/ws").replace("http://", "ws://", 1)
        received: list[dict[str, Any]] = []
        async with connect(url, origin=ctx.base_url, open_timeout=STEP) as ws:
            hello = {"type": "hello", "token": getattr(self, "token", None), "last_seq": 0}
            for frame in [hello, *frames, {"type": "ping"}]:
                await ws.send(json.dumps(frame))
            async with asyncio.timeout(STEP):
                while not received or received[-1]["type"] != "pong":
                    received.append(json.loads(await ws.recv()))
        self.token = received[0]["token"]
        return received

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        await self._visit(ctx, [{"type": "message", "id": "c1", "text": "Contract hello"}])

    async def send_address(self, channel: Channel, ctx: RecordingContext) -> str | None:
        if channel.health().state == HealthState.STOPPED:
            return new_session_id()  # not started: send must fail as a temporary error
        frames = await self._visit(ctx, [{"type": "message", "id": "c1", "text": "Hi"}])
        return frames[0]["session"]

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        replay = await self._visit(ctx, [])
        return sum(1 for f in replay if f["type"] == "message" and f["id"] == outbound.key)
