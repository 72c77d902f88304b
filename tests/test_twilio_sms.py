"""The Twilio SMS channel against a local server that follows Twilio's API.

Webhooks come signed from the fake as Twilio sends them; replies go to its
REST API, which checks the login and the form and records every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentdesk_twilio import TwilioSmsChannel
from agentdesk_twilio.failures import retry_after_seconds
from agentdesk_twilio.receiver import OPT_OUT_ATTRIBUTE
from agentdesk_twilio.signature import compute_signature, is_valid, url_variants
from agentdesk_twilio.webhook import EMPTY_TWIML
from servers.twilio_api import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    NUMBER,
    SERVICE_SID,
    FakeTwilio,
    twilio_signature,
)
from twilio.request_validator import RequestValidator

from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import DeliveryState, Message
from agentdesk.plugin import (
    Channel,
    DeliveryError,
    DeliveryReceipt,
    HealthState,
    Inbound,
    InboundMessage,
    Outbound,
    PermanentDeliveryError,
    PluginConfigError,
    TemporaryDeliveryError,
)
from agentdesk.plugin.testing import ChannelContract, MemoryState, RecordingContext, serve

CUSTOMER = "+33612345678"
STEP = 5.0


def channel_options(twilio: FakeTwilio, **more: Any) -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": NUMBER,
        "api_base_url": twilio.url,
        **more,
    }


@dataclass
class Sms:
    """A started channel named "sms", served on loopback, and the fake Twilio."""

    channel: TwilioSmsChannel
    ctx: RecordingContext
    twilio: FakeTwilio

    @property
    def inbound_url(self) -> str:
        return self.ctx.url(self.channel.inbound_path)

    def reply(self, text: str = "Your parcel left today.", key: str = "r1", to: str = CUSTOMER):
        return Outbound(key=key, to=to, text=text, task_id="t1", task_number=1, agent="Sam")

    async def text_in(self, body: str, **kw: Any) -> httpx.Response:
        kw.setdefault("sender", CUSTOMER)
        return await self.twilio.send_inbound(self.inbound_url, body=body, **kw)

    async def next(self) -> Inbound:
        return await self.ctx.next_inbound(STEP)

    async def next_message(self) -> InboundMessage:
        item = await self.next()
        assert isinstance(item, InboundMessage)
        return item


class GatedContext(RecordingContext):
    """A context whose desk takes nothing until ``gate`` is set: a stuck desk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()

    async def emit(self, item: Inbound) -> None:
        await self.gate.wait()
        await super().emit(item)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


@contextlib.asynccontextmanager
async def running(
    twilio: FakeTwilio,
    *,
    state: MemoryState | None = None,
    data_dir: Path | None = None,
    context_class: type[RecordingContext] = RecordingContext,
    **more: Any,
) -> AsyncIterator[Sms]:
    ctx = context_class.for_channel(
        TwilioSmsChannel,
        channel_options(twilio, **more),
        channel_name="sms",
        state=state,
        data_dir=data_dir,
    )
    try:
        async with serve(ctx):
            channel = TwilioSmsChannel(ctx)
            await channel.start()
            try:
                yield Sms(channel, ctx, twilio)
            finally:
                await channel.stop()
    finally:
        ctx.close()


# -- signatures ------------------------------------------------------------------------


class _MultiDict(dict):
    """Form fields with repeated names, as Flask's MultiDict hands them to the validator."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


@pytest.mark.parametrize(
    ("url", "pairs"),
    [
        (
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            [
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ],
        ),
        (
            "https://desk.example/channels/sms/inbound",
            [("Body", "Ça marche, merci ! 👍 €"), ("From", CUSTOMER), ("NumMedia", "0")],
        ),
        ("https://desk.example:8443/x/status?key=r%201", [("Body", ""), ("a", "x"), ("B", "y")]),
        ("http://127.0.0.1:54321/channels/sms/inbound", []),
        ("https://desk.example/in", [("MediaUrl0", "z"), ("MediaUrl0", "a"), ("Body", "two")]),
    ],
)
def test_our_signature_is_twilios(url: str, pairs: list[tuple[str, str]]) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    ours = compute_signature(AUTH_TOKEN, url, pairs)
    assert ours == validator.compute_signature(url, _MultiDict(pairs))
    assert validator.validate(url, _MultiDict(pairs), ours)
    assert is_valid(AUTH_TOKEN, url, pairs, validator.compute_signature(url, _MultiDict(pairs)))
    assert not is_valid("another-token", url, pairs, ours)
    assert not is_valid(AUTH_TOKEN, url + "x", pairs, ours)


def test_the_fakes_signature_is_twilios() -> None:
    params = {"Body": "Hello", "From": CUSTOMER, "MessageSid": "SM" + "0" * 32}
    url = "https://desk.example/channels/sms/inbound"
    signature = twilio_signature(AUTH_TOKEN, url, params)
    assert RequestValidator(AUTH_TOKEN).validate(url, params, signature)


def test_a_signature_with_or_without_the_default_port_is_accepted() -> None:
    pairs = [("Body", "hi")]
    with_port = compute_signature(AUTH_TOKEN, "https://desk.example:443/in", pairs)
    without = compute_signature(AUTH_TOKEN, "https://desk.example/in", pairs)
    assert is_valid(AUTH_TOKEN, "https://desk.example/in", pairs, with_port)
    assert is_valid(AUTH_TOKEN, "https://desk.example:443/in", pairs, without)
    assert url_variants("https://desk.example:8443/in") == ["https://desk.example:8443/in"]
    assert not is_valid(AUTH_TOKEN, "https://desk.example/in", pairs, None)
    assert not is_valid(AUTH_TOKEN, "https://desk.example/in", pairs, "")


async def test_a_signed_webhook_is_answered_with_empty_twiml(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        response = await sms.text_in("Where is my parcel?")
        assert response.status_code == 200
        assert response.text == EMPTY_TWIML
        assert response.headers["content-type"].startswith("text/xml")
        message = await sms.next_message()
        assert message.text == "Where is my parcel?"


@pytest.mark.parametrize("signature", ["invalid", None], ids=["invalid", "missing"])
async def test_an_unsigned_webhook_is_refused_and_its_body_not_logged(
    twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, signature: str | None
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentdesk.channel.sms")
    async with running(twilio) as sms:
        secret_words = "my card number is 4970 1234"
        response = await sms.text_in(secret_words, signature=signature)
        assert response.status_code == 403
        tampered = await sms.text_in("hello", signature=compute_signature("other", "x", []))
        assert tampered.status_code == 403
        await asyncio.sleep(0.1)
        assert sms.ctx.emitted == []
    refusals = [r for r in caplog.records if "refused POST" in r.getMessage()]
    assert len(refusals) == 2
    assert ("no X-Twilio-Signature" if signature is None else "invalid") in refusals[0].getMessage()
    logged = caplog.text
    assert secret_words not in logged and CUSTOMER not in logged and "4970" not in logged


async def test_the_signature_covers_the_desks_public_url(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        local = sms.ctx.url(sms.channel.inbound_path)
        # Behind a reverse proxy: Twilio signs the public URL it calls, and the
        # proxy hands the request on to the desk's loopback port.
        public = "https://desk.example/support"
        sms.ctx.server.public_url = public
        signed = public + sms.channel.inbound_path
        good = await twilio.send_inbound(local, sender=CUSTOMER, body="hi", signed_url=signed)
        assert good.status_code == 200
        bad = await twilio.send_inbound(local, sender=CUSTOMER, body="hi", signed_url=local)
        assert bad.status_code == 403
        assert (await sms.next_message()).text == "hi"


# -- inbound ---------------------------------------------------------------------------


async def test_an_incoming_text_opens_a_task_on_the_desk(twilio: FakeTwilio, desk: Desk) -> None:
    async with running(twilio) as sms:
        await sms.text_in("Bonjour, où est mon colis ?", sid="SM" + "1" * 32)
        message = await sms.next_message()
        assert message.identity == CUSTOMER
        assert message.external_id == "SM" + "1" * 32
        assert message.attachments == () and message.attributes == {}
        result = await desk.ingest("sms", message)
        assert result.created_task
        assert result.event.text == "Bonjour, où est mon colis ?"
        assert result.event.identity == f"phone:{CUSTOMER}"


async def test_a_webhook_delivered_twice_makes_one_message(twilio: FakeTwilio, desk: Desk) -> None:
    sid = "SM" + "2" * 32
    state = MemoryState()
    async with running(twilio, state=state) as sms:
        first = await sms.text_in("Is it shipped?", sid=sid)
        again = await sms.text_in("Is it shipped?", sid=sid)
        assert first.status_code == again.status_code == 200
        await sms.next_message()
        await asyncio.sleep(0.2)
        assert len(sms.ctx.emitted) == 1
        await desk.ingest("sms", sms.ctx.emitted[0])
    # A restarted channel has forgotten the sid; the desk drops it by external id.
    async with running(twilio, state=state) as sms:
        await sms.text_in("Is it shipped?", sid=sid)
        result = await desk.ingest("sms", await sms.next_message())
        assert result.duplicate
        assert len([e for e in desk.store.events_of_task(result.task.id)]) == 1


async def test_the_webhook_never_waits_for_the_desk(twilio: FakeTwilio) -> None:
    async with running(twilio, context_class=GatedContext) as sms:
        began = time.monotonic()
        response = await sms.text_in("hello?")
        assert response.status_code == 200
        assert time.monotonic() - began < 1.0
        assert sms.ctx.emitted == []
        sms.ctx.gate.set()  # type: ignore[attr-defined]
        assert (await sms.next_message()).text == "hello?"


async def test_a_message_answered_but_not_stored_comes_back_after_a_crash(
    twilio: FakeTwilio, tmp_path: Path
) -> None:
    state = MemoryState()
    async with running(twilio, state=state, data_dir=tmp_path, context_class=GatedContext) as sms:
        await sms.text_in("Please call me back", sid="SM" + "3" * 32)
        assert sms.ctx.emitted == []
    # The desk never took it; the next start hands it over.
    async with running(twilio, state=state, data_dir=tmp_path) as sms:
        message = await sms.next_message()
        assert message.external_id == "SM" + "3" * 32
        assert message.at is not None and abs(message.at - time.time()) < 60
        await asyncio.sleep(0.1)
        assert not list((tmp_path / "spool").glob("*.json"))


# -- outbound --------------------------------------------------------------------------


async def test_a_reply_is_posted_as_twilio_expects(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        delivery = await sms.channel.send(sms.reply("Your parcel left today."))
        [request] = twilio.creates()
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert request.content_type.startswith("application/x-www-form-urlencoded")
        assert request.user == ACCOUNT_SID
        status_url = sms.ctx.url(sms.channel.status_path) + "?key=r1"
        assert request.form == {
            "To": CUSTOMER,
            "Body": "Your parcel left today.",
            "From": NUMBER,
            "StatusCallback": status_url,
        }
        [made] = twilio.messages
        assert delivery.external_id == made.sid and delivery.state == "sent"
        assert delivery.detail == "1 segment (GSM-7)"


async def test_an_api_key_and_a_messaging_service(twilio: FakeTwilio) -> None:
    more: dict[str, Any] = {
        "api_key_sid": API_KEY_SID,
        "api_key_secret": API_KEY_SECRET,
        "from_number": "",
        "messaging_service_sid": SERVICE_SID,
        "status_callbacks": False,
    }
    async with running(twilio, **more) as sms:
        await sms.channel.send(sms.reply(to="+1 (415) 555-0100"))
        [request] = twilio.creates()
        assert request.user == API_KEY_SID
        assert request.form["MessagingServiceSid"] == SERVICE_SID
        assert request.form["To"] == "+14155550100"
        assert "From" not in request.form and "StatusCallback" not in request.form


async def test_refused_credentials_keep_the_reply_and_degrade_the_channel(
    twilio: FakeTwilio,
) -> None:
    more: dict[str, Any] = {"api_key_sid": API_KEY_SID, "api_key_secret": "wrong"}
    async with running(twilio, **more) as sms:
        with pytest.raises(TemporaryDeliveryError, match=r"credentials.*20003"):
            await sms.channel.send(sms.reply())
        assert sms.channel.health().state == HealthState.DEGRADED
        assert twilio.messages == []


@pytest.mark.parametrize(
    ("status", "code", "permanent", "sentence"),
    [
        (400, 21211, True, f"{CUSTOMER} is not a valid phone number (Twilio 21211)"),
        (400, 21610, True, "the customer has opted out (STOP)"),
        (400, 21614, True, f"{CUSTOMER} is not a mobile number"),
        (400, 21408, True, "may not text this country"),
        (400, 21999, True, "Twilio refused the message: Something odd (Twilio 21999)"),
        (429, 20429, False, "Twilio is limiting how fast we send; retrying later (Twilio 20429)"),
        (429, None, False, "limiting how fast we send; retrying later (HTTP 429)"),
        (500, None, False, "Twilio failed on its side (HTTP 500)"),
        (503, 20500, False, "Twilio failed on its side (Twilio 20500)"),
    ],
)
async def test_twilio_errors_become_typed_errors(
    twilio: FakeTwilio, status: int, code: int | None, permanent: bool, sentence: str
) -> None:
    async with running(twilio) as sms:
        twilio.fail_next(status, code, "Something odd")
        with pytest.raises(DeliveryError) as raised:
            await sms.channel.send(sms.reply())
        assert isinstance(raised.value, PermanentDeliveryError) == permanent
        assert raised.value.temporary == (not permanent)
        assert sentence in str(raised.value)
        assert sms.channel.is_opted_out(CUSTOMER) == (code == 21610)


async def test_retry_after_is_honoured(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        twilio.fail_next(429, 20429, "Too Many Requests", retry_after="30")
        with pytest.raises(TemporaryDeliveryError, match="retrying in 30 s") as raised:
            await sms.channel.send(sms.reply())
        assert getattr(raised.value, "retry_after", None) == 30
        # Retried too soon: refused without asking Twilio again.
        with pytest.raises(TemporaryDeliveryError, match="asked us to wait"):
            await sms.channel.send(sms.reply())
        assert len(twilio.creates()) == 1
        later = time.monotonic() + 31
        sms.channel._sender.clock = lambda: later
        delivery = await sms.channel.send(sms.reply())
        assert delivery.external_id == twilio.messages[0].sid
        assert len(twilio.creates()) == 2 and twilio.count("r1") == 1


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    header = "Tue, 14 Nov 2023 22:13:27 GMT"  # now + 7 s
    assert retry_after_seconds(header, now) == pytest.approx(7.0)
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("soon", now) is None


async def test_a_reply_retried_after_a_timeout_is_sent_once(twilio: FakeTwilio) -> None:
    async with running(twilio, timeout=0.3) as sms:
        # Twilio makes the message, then answers too late for us.
        twilio.stall_next(1.0, after_create=True)
        with pytest.raises(TemporaryDeliveryError, match="not sent twice"):
            await sms.channel.send(sms.reply())
        assert twilio.count("r1") == 1
        delivery = await sms.channel.send(sms.reply())
        assert delivery.external_id == twilio.messages[0].sid
        assert twilio.count("r1") == 1 and len(twilio.creates()) == 1
        # Known now: a third try asks Twilio nothing.
        asked = len(twilio.requests)
        assert (await sms.channel.send(sms.reply())).external_id == delivery.external_id
        assert len(twilio.requests) == asked


async def test_a_timeout_that_made_nothing_is_sent_again_once(twilio: FakeTwilio) -> None:
    async with running(twilio, timeout=0.3) as sms:
        twilio.stall_next(0.6, after_create=False)
        with pytest.raises(TemporaryDeliveryError):
            await sms.channel.send(sms.reply())
        await asyncio.sleep(0.8)  # the stalled request has ended at the fake
        delivery = await sms.channel.send(sms.reply())
        assert twilio.count("r1") == 1
        assert delivery.external_id == twilio.messages[0].sid


async def test_a_timeout_then_a_restart_still_sends_once(twilio: FakeTwilio) -> None:
    state = MemoryState()
    async with running(twilio, state=state, timeout=0.3) as sms:
        twilio.stall_next(1.0, after_create=True)
        with pytest.raises(TemporaryDeliveryError):
            await sms.channel.send(sms.reply())
    async with running(twilio, state=state) as sms:
        delivery = await sms.channel.send(sms.reply())
        assert twilio.count("r1") == 1
        assert delivery.external_id == twilio.messages[0].sid


async def test_the_same_text_to_the_same_customer_twice_is_two_replies(
    twilio: FakeTwilio,
) -> None:
    async with running(twilio, timeout=0.3) as sms:
        await sms.channel.send(sms.reply("Thanks!", key="r1"))
        twilio.stall_next(0.6, after_create=False)
        with pytest.raises(TemporaryDeliveryError):
            await sms.channel.send(sms.reply("Thanks!", key="r2"))
        await asyncio.sleep(0.8)
        # r1's message matches r2's text but is r1's: r2 goes out on its own.
        second = await sms.channel.send(sms.reply("Thanks!", key="r2"))
        assert twilio.count("r1") == 1 and twilio.count("r2") == 1
        assert second.external_id == twilio.messages[-1].sid


async def test_two_sends_of_one_key_at_once_send_once(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        twilio.stall_next(0.2)
        first, second = await asyncio.gather(
            sms.channel.send(sms.reply()), sms.channel.send(sms.reply())
        )
        assert first.external_id == second.external_id
        assert twilio.count("r1") == 1


@pytest.mark.parametrize(
    ("to", "text", "problem"),
    [
        ("", "hi", "no phone number"),
        ("0612345678", "hi", "international form"),
        ("+33 6 12", "hi", "international form"),
        (CUSTOMER, "   ", "empty"),
        (CUSTOMER, "x" * 1601, "at most 1600"),
    ],
)
async def test_replies_that_cannot_be_an_sms_are_refused(
    twilio: FakeTwilio, to: str, text: str, problem: str
) -> None:
    async with running(twilio) as sms:
        with pytest.raises(PermanentDeliveryError, match=problem):
            await sms.channel.send(sms.reply(text, to=to))
        assert twilio.requests == []


# -- status callbacks ------------------------------------------------------------------


async def test_status_callbacks_become_delivery_receipts(
    twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(twilio) as sms:
        await sms.channel.send(sms.reply(key="r1"))
        await sms.channel.send(sms.reply("Second", key="r2"))
        first, second = twilio.messages
        for status in ("queued", "sent"):
            assert (await twilio.send_status(first, status)).status_code == 204
        await twilio.send_status(first, "delivered")
        assert await sms.next() == DeliveryReceipt(key="r1", state="delivered")
        await twilio.send_status(first, "read")
        assert await sms.next() == DeliveryReceipt(key="r1", state="read")
        await twilio.send_status(second, "undelivered", error_code="30003")
        await twilio.send_status(second, "delivered")  # a marker: the failure came first
        assert await sms.next() == DeliveryReceipt(key="r2", state="delivered")
        forged = await twilio.send_status(first, "delivered", signature="forged")
        assert forged.status_code == 403
        await asyncio.sleep(0.1)
        assert sms.ctx.pending_inbound() == 0
    assert "undelivered: the phone is off or out of coverage (Twilio 30003)" in caplog.text


async def test_a_failed_status_with_21610_marks_the_customer_opted_out(
    twilio: FakeTwilio,
) -> None:
    async with running(twilio) as sms:
        await sms.channel.send(sms.reply())
        await twilio.send_status(twilio.messages[0], "failed", error_code="21610")
        for _ in range(50):
            if sms.channel.is_opted_out(CUSTOMER):
                break
            await asyncio.sleep(0.02)
        assert sms.channel.is_opted_out(CUSTOMER)


async def test_a_status_callback_settles_a_send_that_timed_out(twilio: FakeTwilio) -> None:
    async with running(twilio, timeout=0.3) as sms:
        twilio.stall_next(1.0, after_create=True)
        with pytest.raises(TemporaryDeliveryError):
            await sms.channel.send(sms.reply())
        await twilio.send_status(twilio.messages[0], "delivered")
        assert await sms.next() == DeliveryReceipt(key="r1", state="delivered")
        asked = len(twilio.requests)
        delivery = await sms.channel.send(sms.reply())
        assert delivery.external_id == twilio.messages[0].sid
        assert len(twilio.requests) == asked  # no look-up needed, nothing sent


async def test_a_reply_through_the_desk_is_delivered(
    twilio: FakeTwilio, desk: Desk, client: LocalDeskClient, clock: Any
) -> None:
    async with running(twilio) as sms:
        await sms.text_in("Hello, any news?")
        task = (await desk.ingest("sms", await sms.next_message())).task
        await client.reply(task.id, "It arrives tomorrow.")
        [entry] = desk.outbox_due(clock.now)
        delivery = await sms.channel.send(await desk.outbound_for(entry))
        await desk.delivery_succeeded(entry, delivery)
        [made] = twilio.messages
        assert made.to == CUSTOMER and made.key == entry.key
        await twilio.send_status(made, "delivered")
        await desk.ingest("sms", await sms.next())
        reply = desk.store.get_event(entry.key)
        assert isinstance(reply, Message)
        assert reply.delivery == DeliveryState.DELIVERED
        assert reply.external_id == made.sid


# -- opting out ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    ["STOP", "stop", "  Unsubscribe ", "END", "quit", "StopAll", "REVOKE", "optout", "Cancel"],
)
async def test_a_stop_word_opts_the_customer_out(twilio: FakeTwilio, word: str) -> None:
    state = MemoryState()
    async with running(twilio, state=state) as sms:
        await sms.text_in(word)
        message = await sms.next_message()
        assert message.text == word  # the agent sees what the customer wrote
        assert message.attributes == {OPT_OUT_ATTRIBUTE: f"yes (texted {word.strip().upper()})"}
        with pytest.raises(PermanentDeliveryError) as raised:
            await sms.channel.send(sms.reply())
        assert str(raised.value) == "the customer has opted out (STOP)"
        assert twilio.requests == []
        # Asked before a reply is queued, the channel refuses it there and then.
        assert sms.channel.refuse(CUSTOMER, "Your parcel left today") == (
            "the customer has opted out (STOP); they can text START to hear from you again"
        )
        assert sms.channel.refuse("+33699999999", "Your parcel left today") is None
    async with running(twilio, state=state) as sms:  # durable across restarts
        assert sms.channel.refuse("+33 6 12 34 56 78", "hello") is not None
        with pytest.raises(PermanentDeliveryError, match=r"opted out \(STOP\)"):
            await sms.channel.send(sms.reply(to="+33 6 12 34 56 78"))


@pytest.mark.parametrize("word", ["START", "yes", " Unstop"])
async def test_a_start_word_opts_the_customer_back_in(twilio: FakeTwilio, word: str) -> None:
    state = MemoryState()
    async with running(twilio, state=state) as sms:
        await sms.text_in("STOP")
        await sms.next_message()
        await sms.text_in(word)
        assert (await sms.next_message()).attributes == {OPT_OUT_ATTRIBUTE: "no"}
        assert sms.channel.refuse(CUSTOMER, "Welcome back") is None
        delivery = await sms.channel.send(sms.reply())
        assert delivery.external_id == twilio.messages[0].sid
    assert not [key for key in state.values if key.startswith("optout:")]


async def test_a_keyword_twilio_reports_as_an_opt_out_counts(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        # A French STOP word the account added to its Advanced Opt-Out keywords.
        await sms.text_in("Arrêt", extra={"OptOutType": "STOP"})
        assert (await sms.next_message()).attributes == {OPT_OUT_ATTRIBUTE: "yes (texted ARRÊT)"}
        assert sms.channel.is_opted_out(CUSTOMER)
        await sms.text_in("Reprendre", extra={"OptOutType": "START"})
        await sms.next_message()
        assert not sms.channel.is_opted_out(CUSTOMER)


async def test_stop_inside_a_sentence_is_not_an_opt_out(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        await sms.text_in("Please stop the delivery")
        assert (await sms.next_message()).attributes == {}
        await sms.channel.send(sms.reply())
        assert len(twilio.messages) == 1


async def test_a_stop_is_honoured_before_the_desk_has_it(twilio: FakeTwilio) -> None:
    async with running(twilio, context_class=GatedContext) as sms:
        await sms.text_in("STOP")
        with pytest.raises(PermanentDeliveryError, match="opted out"):
            await sms.channel.send(sms.reply())
        sms.ctx.gate.set()  # type: ignore[attr-defined]
        await sms.next_message()


async def test_a_reply_sent_before_the_stop_stays_sent(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        first = await sms.channel.send(sms.reply())
        await sms.text_in("STOP")
        await sms.next_message()
        assert (await sms.channel.send(sms.reply())).external_id == first.external_id


# -- MMS -------------------------------------------------------------------------------


async def test_mms_media_arrive_as_attachments(twilio: FakeTwilio) -> None:
    async with running(twilio) as sms:
        sid = "MM" + "4" * 32
        photo = twilio.add_media(sid, "image/jpeg", b"\xff\xd8jpeg-bytes")
        pdf = twilio.add_media(sid, "application/pdf", b"%PDF-1.7 invoice")
        await sms.text_in("", sid=sid, media=[(photo, "image/jpeg"), (pdf, "application/pdf")])
        message = await sms.next_message()
        assert message.text == ""
        first, second = message.attachments
        assert (first.name, first.content_type, first.size) == ("image-1.jpg", "image/jpeg", 12)
        assert (second.name, second.content_type) == ("file-2.pdf", "application/pdf")
        assert first.path and Path(first.path).read_bytes() == b"\xff\xd8jpeg-bytes"
        assert second.path and Path(second.path).is_relative_to(sms.ctx.data_dir)
        media_requests = [r for r in twilio.requests if "/Media/" in r.path]
        assert [r.user for r in media_requests] == [ACCOUNT_SID, ACCOUNT_SID]


async def test_large_or_foreign_media_stay_links(twilio: FakeTwilio) -> None:
    async with FakeTwilio() as elsewhere, running(twilio, max_media_mb=0.001) as sms:
        sid = "MM" + "5" * 32
        big = twilio.add_media(sid, "video/mp4", b"v" * 5000)
        # A link on another host never gets the account's login.
        foreign = elsewhere.add_media(sid, "image/png", b"png")
        await sms.text_in("look", sid=sid, media=[(big, "video/mp4"), (foreign, "image/png")])
        first, second = (await sms.next_message()).attachments
        assert (first.name, first.size, first.path) == (big, 5000, None)
        assert (second.name, second.path) == (foreign, None)
        assert [r.user for r in elsewhere.requests] == [None]


async def test_media_links_only_when_downloads_are_off(twilio: FakeTwilio) -> None:
    async with running(twilio, download_media=False) as sms:
        sid = "MM" + "6" * 32
        links = [(twilio.add_media(sid, "image/gif", b"gif"), "image/gif") for _ in range(12)]
        await sms.text_in("many", sid=sid, media=links)
        attachments = (await sms.next_message()).attachments
        assert [a.name for a in attachments] == [link for link, _ in links[:10]]
        assert {a.content_type for a in attachments} == {"image/gif"}
        assert not [r for r in twilio.requests if "/Media/" in r.path]


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": " "}, "auth_token"),
        ({"api_key_sid": "SK-nope"}, "api_key_sid"),
        ({"api_key_sid": API_KEY_SID}, "api_key_secret"),
        ({"api_key_secret": "s"}, "api_key_sid"),
        ({"from_number": "not a number!"}, "from_number"),
        ({"from_number": ""}, "from_number"),
        ({"messaging_service_sid": "MG1"}, "messaging_service_sid"),
        ({"timeout": 60}, "timeout"),
        ({"max_media_mb": "5"}, "max_media_mb"),
        ({"api_base_url": "ftp://api.twilio.com"}, "api_base_url"),
        ({"api_base_url": "http://api.twilio.com"}, "api_base_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_malformed_option_names_its_key(change: dict[str, Any], key: str) -> None:
    options = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": NUMBER}
    with pytest.raises(PluginConfigError, match=rf"^(sms\.)?{key}: "):
        ctx = RecordingContext.for_channel(
            TwilioSmsChannel, {**options, **change}, channel_name="sms"
        )
        TwilioSmsChannel(ctx)


def test_the_channel_is_registered_as_an_entry_point() -> None:
    [found] = [e for e in entry_points(group="agentdesk.channels") if e.name == "twilio-sms"]
    assert found.load() is TwilioSmsChannel
    assert TwilioSmsChannel.plugin == "twilio-sms"


# -- the conformance kit ---------------------------------------------------------------


class TestTwilioContract(ChannelContract):
    channel_class = TwilioSmsChannel
    channel_name = "twilio"
    options: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    async def _fake_twilio(self, twilio: FakeTwilio) -> AsyncIterator[None]:
        self.twilio = twilio
        self.options = channel_options(twilio)
        yield

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        assert isinstance(channel, TwilioSmsChannel)
        response = await self.twilio.send_inbound(
            ctx.url(channel.inbound_path), sender=CUSTOMER, body="Contract hello"
        )
        assert response.status_code == 200

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        return self.twilio.count(outbound.key)
