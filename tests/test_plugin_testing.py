"""The testing kit: RecordingContext records a channel's actions and serves its routes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from starlette.responses import JSONResponse

from agentdesk.plugin import Capabilities, Channel, Health, HealthState, InboundMessage, Option
from agentdesk.plugin.testing import RecordingContext, recording_context, serve

__all__ = ["recording_context"]  # the fixture, used by name below


class Webhook(Channel):
    plugin = "webhook-demo"
    capabilities = Capabilities(kind="sms", identity_kind="phone")
    options = (Option.text("token"), Option.number("limit", default=3, integer=True))
    needs_http = True

    async def start(self) -> None:
        self.context.add_route("/hook", self.hook, methods=("POST",))
        self.context.add_websocket_route("/ws", self.ws)
        self.context.report(Health(HealthState.UP))

    async def hook(self, request):
        body = await request.json()
        await self.context.emit(InboundMessage(identity=body["from"], text=body["text"]))
        return JSONResponse({"ok": True})

    async def ws(self, websocket):
        await websocket.accept()
        text = await websocket.receive_text()
        await self.context.emit(InboundMessage(identity="ws", text=text))
        await websocket.send_text("got " + text)
        await websocket.close()


async def test_emit_is_recorded_and_awaitable(recording_context: RecordingContext) -> None:
    ctx = recording_context
    await ctx.emit(InboundMessage(identity="+33600000001", text="bonjour"))
    item = await ctx.next_inbound(timeout=1)
    assert item.identity == "+33600000001"
    assert ctx.emitted == [item]
    assert ctx.pending_inbound() == 0
    with pytest.raises(TimeoutError, match="emitted nothing"):
        await ctx.next_inbound(timeout=0.01)
    with pytest.raises(TypeError):
        await ctx.emit("not an item")  # type: ignore[arg-type]


async def test_state_and_data_dir(recording_context: RecordingContext) -> None:
    ctx = recording_context
    await ctx.state.set("cursor", {"uid": 41})
    assert ctx.state.get("cursor") == {"uid": 41}
    await ctx.state.set("cursor", None)
    assert ctx.state.get("cursor", "gone") == "gone"
    with pytest.raises(TypeError, match="JSON"):
        await ctx.state.set("bad", object())
    assert ctx.data_dir.is_dir()


def test_for_channel_validates_options() -> None:
    ctx = RecordingContext.for_channel(Webhook, {"token": "t"})
    assert ctx.options == {"token": "t", "limit": 3}
    ctx.close()
    assert not ctx.data_dir.exists()
    with pytest.raises(Exception, match="colour: unknown option"):
        RecordingContext.for_channel(Webhook, {"token": "t", "colour": "red"})


async def test_serve_runs_http_and_websocket_routes() -> None:
    ctx = RecordingContext.for_channel(Webhook, {"token": "t"}, channel_name="sms-fr")
    channel = Webhook(ctx)
    assert ctx.base_url is None
    async with serve(ctx) as base_url:
        await channel.start()
        assert ctx.base_url == base_url
        assert [r.path for r in ctx.routes] == ["/channels/sms-fr/hook", "/channels/sms-fr/ws"]
        async with httpx.AsyncClient() as client:
            response = await client.post(
                ctx.url("/channels/sms-fr/hook"), json={"from": "+336", "text": "salut"}
            )
        assert response.json() == {"ok": True}
        assert (await ctx.next_inbound(1)).text == "salut"
        ws_url = base_url.replace("http", "ws") + "/channels/sms-fr/ws"
        async with websockets.connect(ws_url) as ws:
            await ws.send("allô")
            assert await ws.recv() == "got allô"
        assert (await ctx.next_inbound(1)).text == "allô"
        await channel.stop()
    assert ctx.base_url is None
    assert ctx.last_health == Health(HealthState.UP)
    ctx.close()


async def test_serve_leaves_signal_handlers_alone() -> None:
    import signal

    before = signal.getsignal(signal.SIGINT)
    ctx = RecordingContext()
    async with serve(ctx):
        assert signal.getsignal(signal.SIGINT) is before
        await asyncio.sleep(0)
    ctx.close()
