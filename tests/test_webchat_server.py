"""The web chat channel on a real uvicorn server, driven by a websockets client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from agentdesk_webchat import WebChatChannel
from agentdesk_webchat.sessions import TokenSigner, new_session_id
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agentdesk.plugin import (
    DeliveryReceipt,
    HandoffContext,
    InboundMessage,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TypingSignal,
    parse_options,
)
from agentdesk.plugin.testing import MemoryState, RecordingContext, serve

STEP = 5.0  # seconds any single network step may take before the test fails


@dataclass
class Chat:
    """A started channel served on loopback."""

    channel: WebChatChannel
    ctx: RecordingContext
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/channels/webchat/ws"

    @property
    def page_url(self) -> str:
        return self.base_url + "/channels/webchat/"

    def reply(self, to: str, text: str, key: str = "r1", agent: str = "Sam") -> Outbound:
        return Outbound(key=key, to=to, text=text, task_id="t1", task_number=1, agent=agent)

    def emitted(self, kind: type) -> list[Any]:
        return [item for item in self.ctx.emitted if isinstance(item, kind)]


@contextlib.asynccontextmanager
async def running_chat(
    options: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None,
    *,
    state: MemoryState | None = None,
) -> AsyncIterator[Chat]:
    """Serve a started web chat channel named "webchat" on 127.0.0.1.

    ``options`` may be a function of the server's base URL, for options that
    name the server's own address."""
    ctx = RecordingContext("webchat", state=state)
    try:
        async with serve(ctx) as base_url:
            raw = options(base_url) if callable(options) else (options or {})
            ctx.options = parse_options(WebChatChannel.options, raw, where="webchat")
            channel = WebChatChannel(ctx)
            await channel.start()
            try:
                yield Chat(channel, ctx, base_url)
            finally:
                await channel.stop()
    finally:
        ctx.close()


class Visitor:
    """A browser stand-in speaking the widget's protocol."""

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.session: str = welcome["session"]
        self.token: str = welcome["token"]

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, chat: Chat, *, token: str | None = None, last_seq: int = 0
    ) -> AsyncIterator[Visitor]:
        async with connect(chat.ws_url, origin=chat.base_url, open_timeout=STEP) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": last_seq}))
            welcome = await next_frame(ws)
            assert welcome["type"] == "welcome", welcome
            yield cls(ws, welcome)

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def frame(self) -> dict[str, Any]:
        return await next_frame(self.ws)

    async def say(self, text: str, message_id: str = "m1") -> dict[str, Any]:
        """Send a message and return the desk's echo of it (or its error frame)."""
        await self.send(type="message", id=message_id, text=text)
        return await self.frame()


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STEP):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") != "pong":
                    return frame
    raise AssertionError(f"no frame from the desk within {STEP:g} s")


async def closed(ws: ClientConnection) -> tuple[int, str]:
    """Read until the desk closes the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as caught:
        async with asyncio.timeout(STEP):
            while True:
                await ws.recv()
    rcvd = caught.value.rcvd
    assert rcvd is not None, "the connection dropped without a close frame"
    return rcvd.code, rcvd.reason


# -- the page ----------------------------------------------------------------------


async def test_widget_page_and_assets_are_served_with_strict_headers() -> None:
    options = {
        "title": "<script>alert(1)</script> Help",
        "allowed_origins": ["https://shop.example"],
    }
    async with running_chat(options) as chat, httpx.AsyncClient() as http:
        page = await http.get(chat.page_url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "frame-ancestors 'self' https://shop.example" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>alert(1)" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Help" in page.text
        for name, kind in (
            ("widget.js", "javascript"),
            ("widget.css", "css"),
            ("embed.js", "javascript"),
        ):
            asset = await http.get(chat.page_url + name)
            assert asset.status_code == 200 and kind in asset.headers["content-type"]
        bare = await http.get(chat.base_url + "/channels/webchat")
        assert bare.status_code in (307, 308)
        assert bare.headers["location"].endswith("/channels/webchat/")


# -- who may connect -----------------------------------------------------------------


async def test_foreign_origin_and_missing_origin_are_refused() -> None:
    async with running_chat() as chat:
        for origin in ("https://evil.example", None):
            with pytest.raises(InvalidStatus) as caught:
                async with connect(chat.ws_url, origin=origin, open_timeout=STEP):
                    pass
            assert caught.value.response.status_code == 403
        assert chat.ctx.emitted == []


async def test_allowed_origin_may_connect() -> None:
    shop = "https://shop.example"
    async with (
        running_chat({"allowed_origins": [shop]}) as chat,
        connect(chat.ws_url, origin=shop, open_timeout=STEP) as ws,
    ):
        await ws.send(json.dumps({"type": "hello"}))
        assert (await next_frame(ws))["type"] == "welcome"


async def test_forged_tokens_are_rejected() -> None:
    async with running_chat() as chat:
        async with Visitor.connect(chat) as victim:
            await victim.say("my order number is 1234")
        signature = victim.token.rsplit(".", 1)[1]
        forgeries = [
            f"{new_session_id()}.{signature}",  # another id under the victim's signature
            TokenSigner(b"guessed secret value!!").issue(victim.session),
            victim.session,  # the id alone
            victim.token[:-2] + "AA",
            "x" * 5000,
        ]
        for token in forgeries:
            async with connect(chat.ws_url, origin=chat.base_url, open_timeout=STEP) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
                assert await closed(ws) == (4401, "invalid session token")
        # Nothing of the victim's conversation leaked, nothing was emitted for the attacker.
        assert [m.identity for m in chat.emitted(InboundMessage)] == [victim.session]


async def test_first_frame_must_be_hello_and_frames_must_be_text() -> None:
    async with running_chat() as chat:
        async with connect(chat.ws_url, origin=chat.base_url, open_timeout=STEP) as ws:
            await ws.send(json.dumps({"type": "message", "id": "a", "text": "hi"}))
            code, reason = await closed(ws)
            assert code == 4400 and "hello" in reason
        async with Visitor.connect(chat) as visitor:
            await visitor.ws.send(b"\x00\x01")
            assert await closed(visitor.ws) == (4400, "text frames only")


# -- messages in -----------------------------------------------------------------------


async def test_visitor_message_reaches_the_desk_as_plain_text() -> None:
    hostile = '<img src=x onerror="alert(1)"> & <b>bold</b>\n\x1b[31mred'
    async with running_chat() as chat, Visitor.connect(chat) as visitor:
        echo = await visitor.say(hostile, "m-1")
        assert echo == {**echo, "type": "message", "from": "visitor", "id": "m-1", "seq": 1}
        assert echo["text"] == hostile
        item = await chat.ctx.next_inbound(STEP)
        assert isinstance(item, InboundMessage)
        assert item.text == hostile and item.html is None
        assert item.identity == visitor.session == item.thread_ref
        assert item.external_id == f"{visitor.session}:m-1"
        # The browser resending the same message after a reconnect is not a second message.
        again = await visitor.say(hostile, "m-1")
        assert again["seq"] == 1
        assert len(chat.emitted(InboundMessage)) == 1


async def test_oversized_messages_are_refused_clearly() -> None:
    async with running_chat({"max_message_chars": 50}) as chat, Visitor.connect(chat) as visitor:
        assert visitor.welcome["max_chars"] == 50
        error = await visitor.say("x" * 51, "long")
        assert error["type"] == "error" and error["code"] == "too_long"
        assert error["id"] == "long" and "limit is 50" in error["message"]
        assert (await visitor.say("x" * 50, "fits"))["type"] == "message"  # still connected
        await visitor.send(type="message", id="huge", text="x" * 100_000)
        code, reason = await closed(visitor.ws)
        assert code == 1009 and "too big" in reason and "50 characters" in reason
    assert [m.text for m in chat.emitted(InboundMessage)] == ["x" * 50]


async def test_rate_limit_per_session_survives_reconnecting() -> None:
    options = {"rate_limit_per_minute": 1, "rate_limit_burst": 2}
    async with running_chat(options) as chat:
        async with Visitor.connect(chat) as visitor:
            assert (await visitor.say("one", "a"))["type"] == "message"
            assert (await visitor.say("two", "b"))["type"] == "message"
            refused = await visitor.say("three", "c")
            assert refused["code"] == "rate_limited" and refused["id"] == "c"
            assert refused["retry_after"] > 0
        async with Visitor.connect(chat, token=visitor.token, last_seq=2) as again:
            assert (await again.say("four", "d"))["code"] == "rate_limited"
        async with Visitor.connect(chat) as stranger:  # another visitor has their own limit
            assert (await stranger.say("hello", "e"))["type"] == "message"
    assert [m.text for m in chat.emitted(InboundMessage)] == ["one", "two", "hello"]


async def test_new_sessions_per_address_are_limited() -> None:
    async with running_chat({"new_sessions_per_minute": 1}) as chat:
        async with Visitor.connect(chat) as first, Visitor.connect(chat):
            pass
        async with connect(chat.ws_url, origin=chat.base_url, open_timeout=STEP) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            code, reason = await closed(ws)
            assert code == 1013 and "too many new chats" in reason
        async with Visitor.connect(chat, token=first.token) as returning:  # not a new chat
            assert returning.session == first.session


async def test_returning_visitor_is_the_same_customer() -> None:
    state = MemoryState()
    async with running_chat(state=state) as chat, Visitor.connect(chat) as first_visit:
        await first_visit.say("first visit")
    # The desk restarts (same state): the browser's stored token still works.
    async with running_chat(state=state) as chat:
        async with Visitor.connect(chat, token=first_visit.token) as second_visit:
            assert second_visit.session == first_visit.session
            history = await second_visit.frame()
            assert (history["seq"], history["text"]) == (1, "first visit")
            echo = await second_visit.say("back again", "m2")
            assert echo["seq"] == 2
        item = chat.emitted(InboundMessage)[0]
        assert item.identity == first_visit.session


async def test_configured_secret_lets_any_desk_verify_tokens() -> None:
    options = {"secret": "a shared secret of some length"}
    async with running_chat(options) as chat, Visitor.connect(chat) as visitor:
        token = visitor.token
    async with (
        running_chat(options, state=MemoryState()) as chat,
        Visitor.connect(chat, token=token) as again,
    ):
        assert again.session == visitor.session


async def test_contact_details_link_the_email_identity() -> None:
    async with running_chat() as chat, Visitor.connect(chat) as visitor:
        await visitor.send(type="identify", name="Ada Lovelace", email="Ada@Example.com")
        assert await visitor.frame() == {
            "type": "identified",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
        }
        await visitor.say("where is my parcel?")
        item = await chat.ctx.next_inbound(STEP)
        assert item.other_identities == (("email", "ada@example.com"),)
        assert item.customer_name == "Ada Lovelace"
        # New details after the conversation started reach the desk at once.
        await visitor.send(type="identify", name="", email="ada@work.example")
        await visitor.frame()
        update = await chat.ctx.next_inbound(STEP)
        assert update.other_identities == (("email", "ada@work.example"),)
        assert "ada@work.example" in update.text
        await visitor.send(type="identify", email="nope")
        assert (await visitor.frame())["code"] == "bad_email"


# -- messages out --------------------------------------------------------------------------


async def test_agent_reply_is_live_idempotent_and_delivered() -> None:
    async with running_chat() as chat, Visitor.connect(chat) as visitor:
        await visitor.say("hello?")
        reply = chat.reply(visitor.session, "<b>Hi!</b> How can I help?")
        sending = asyncio.create_task(chat.channel.send(reply))
        frame = await visitor.frame()
        assert (frame["from"], frame["text"], frame["agent"]) == (
            "agent",
            "<b>Hi!</b> How can I help?",
            "Sam",
        )
        await visitor.send(type="ack", seq=frame["seq"], read=False)
        delivery = await sending
        assert delivery.state == "delivered"
        again = await chat.channel.send(reply)
        assert again.external_id == delivery.external_id and again.state == "delivered"
        await visitor.send(type="ping")  # nothing else is queued for the visitor:
        assert (await visitor.ws.recv()) == '{"type":"pong"}'


async def test_offline_visitor_gets_missed_replies_on_reconnect() -> None:
    async with running_chat() as chat:
        async with Visitor.connect(chat) as visitor:
            echo = await visitor.say("are you open on sunday?")
            seen = echo["seq"]
        first = await chat.channel.send(chat.reply(visitor.session, "Yes, 10 to 4.", "r1"))
        second = await chat.channel.send(chat.reply(visitor.session, "Anything else?", "r2"))
        assert first.state == second.state == "sent"
        assert "offline" in first.detail
        async with Visitor.connect(chat, token=visitor.token, last_seq=seen) as back:
            replayed = [await back.frame(), await back.frame()]
            assert [(f["seq"], f["text"]) for f in replayed] == [
                (2, "Yes, 10 to 4."),
                (3, "Anything else?"),
            ]
            await back.send(type="ack", seq=3, read=True)
            await back.send(type="ping")
            assert (await back.ws.recv()) == '{"type":"pong"}'  # nothing more was replayed
        # The desk hears that both replies, sent while the visitor was away, were read.
        assert isinstance(await chat.ctx.next_inbound(STEP), InboundMessage)
        assert [await chat.ctx.next_inbound(STEP) for _ in range(2)] == [
            DeliveryReceipt("r1", "read"),
            DeliveryReceipt("r2", "read"),
        ]
        assert (
            await chat.channel.send(chat.reply(visitor.session, "Anything else?", "r2"))
        ).state == ("delivered")


async def test_a_full_log_replays_without_overflowing_the_connection() -> None:
    async with running_chat({"history_limit": 300}) as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.say("hi")
        for n in range(305):
            await chat.channel.send(chat.reply(visitor.session, f"note {n}", f"k{n}"))
        async with Visitor.connect(chat, token=visitor.token) as back:
            await back.send(type="ping")
            frames = []
            async with asyncio.timeout(STEP):
                while (frame := json.loads(await back.ws.recv()))["type"] != "pong":
                    frames.append(frame)
        # The newest 300 messages of 306, in order.
        assert [f["seq"] for f in frames] == list(range(7, 307))
        assert frames[-1]["text"] == "note 304"


async def test_desk_drop_and_reconnect_replays_only_what_was_missed() -> None:
    async with running_chat() as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.say("hi")
            assert chat.channel.disconnect(visitor.session) == 1
            code, _ = await closed(visitor.ws)
            assert code == 1008
        await chat.channel.send(chat.reply(visitor.session, "missed me?"))
        async with Visitor.connect(chat, token=visitor.token, last_seq=1) as back:
            assert (await back.frame())["text"] == "missed me?"


async def test_send_refuses_what_chat_cannot_deliver() -> None:
    async with running_chat() as chat:
        with pytest.raises(PermanentDeliveryError):
            await chat.channel.send(chat.reply("someone@example.com", "hi"))
        with pytest.raises(PermanentDeliveryError, match="never wrote"):
            await chat.channel.send(chat.reply(new_session_id(), "hi"))
        async with Visitor.connect(chat) as visitor:
            await visitor.say("hi")
        with pytest.raises(PermanentDeliveryError, match="4000"):
            await chat.channel.send(chat.reply(visitor.session, "x" * 4001))
    with pytest.raises(TemporaryDeliveryError):  # stopped
        await chat.channel.send(chat.reply(visitor.session, "hi"))


class FlakyState(MemoryState):
    """A state store that fails its writes while ``broken`` is set."""

    broken = False

    async def set(self, key: str, value: Any) -> None:
        if self.broken:
            raise OSError("disk full")
        await super().set(key, value)


async def test_a_desk_failure_ends_the_connection_and_the_resend_works() -> None:
    state = FlakyState()
    async with running_chat(state=state) as chat:
        async with Visitor.connect(chat) as visitor:
            state.broken = True
            await visitor.send(type="message", id="m1", text="hello")
            assert await closed(visitor.ws) == (1011, "internal error; reconnecting")
        state.broken = False
        async with Visitor.connect(chat, token=visitor.token) as again:
            assert (await again.say("hello", "m1"))["seq"] == 1
        # Emitted before the failed write, then again on the resend: the same
        # external id lets the desk drop the second.
        ids = {m.external_id for m in chat.emitted(InboundMessage)}
        assert ids == {f"{visitor.session}:m1"}


# -- typing -------------------------------------------------------------------------------


async def test_typing_both_ways() -> None:
    async with running_chat() as chat, Visitor.connect(chat) as visitor:
        await visitor.send(type="typing", typing=True)
        assert await chat.ctx.next_inbound(STEP) == TypingSignal(visitor.session, True)
        await visitor.send(type="typing", typing=False)
        assert await chat.ctx.next_inbound(STEP) == TypingSignal(visitor.session, False)

        await visitor.send(type="typing", typing=True)
        await visitor.say("hi")  # sending ends the typing
        assert (await chat.ctx.next_inbound(STEP)).typing is True
        assert isinstance(await chat.ctx.next_inbound(STEP), InboundMessage)
        assert await chat.ctx.next_inbound(STEP) == TypingSignal(visitor.session, False)

        await chat.channel.send_typing(visitor.session, True)
        assert await visitor.frame() == {"type": "typing", "typing": True}
        # While the agent goes on typing, the widget hears it again (it hides
        # the line after a while without news).
        await chat.channel.send_typing(visitor.session, True)
        assert await visitor.frame() == {"type": "typing", "typing": True}
        # A browser that joins while the agent types sees it too.
        async with Visitor.connect(chat, token=visitor.token, last_seq=1) as second_tab:
            assert await second_tab.frame() == {"type": "typing", "typing": True}
        await chat.channel.send_typing(visitor.session, False)
        assert await visitor.frame() == {"type": "typing", "typing": False}


async def test_visitor_who_leaves_mid_typing_stops_typing() -> None:
    async with running_chat() as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.send(type="typing", typing=True)
            assert (await chat.ctx.next_inbound(STEP)).typing is True
        assert await chat.ctx.next_inbound(STEP) == TypingSignal(visitor.session, False)


# -- handoff and lifecycle -----------------------------------------------------------------


async def test_handoff_in_only_reaches_a_connected_visitor() -> None:
    async with running_chat() as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.say("hi")
            handoff = HandoffContext(
                task_id="t9",
                task_number=9,
                customer_name="Ada",
                to=visitor.session,
                from_channel="email",
                context="Following up on your email about #9 here.",
            )
            outbound = await chat.channel.handoff_in(handoff)
            assert outbound is not None and outbound.to == visitor.session
            assert outbound.text == handoff.context
        assert await chat.channel.handoff_in(handoff) is None  # the visitor left


async def test_stop_closes_visitors_with_a_reason() -> None:
    async with running_chat() as chat, Visitor.connect(chat) as visitor:
        assert "1 visitor connection" in chat.channel.health().detail
        await chat.channel.stop()
        assert await closed(visitor.ws) == (1001, "the chat is restarting")
        assert chat.channel.health().state == "stopped"
