"""The Twilio voice channel against a local server that follows Twilio's API.

Calls are played at the channel by the fake as Twilio runs them: signed
webhooks that follow the TwiML the channel answers with, and status,
recording and transcription callbacks. Call backs go to the fake's Calls API.
What the channel emits is stored by the real desk (in-memory store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from agentdesk_twilio import TwilioVoiceChannel
from agentdesk_twilio.voice.book import STALE_AFTER, CallBook
from agentdesk_twilio.voice.events import STATUS, CallEvent
from servers.twilio_api import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    NUMBER,
    FakeTwilio,
)
from servers.twilio_calls import CallPlayer
from twilio.twiml.voice_response import Dial, Record, VoiceResponse

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import CallRecord, Direction, Message, Status
from agentdesk.plugin import (
    Channel,
    DeliveryError,
    HealthState,
    Inbound,
    InboundCall,
    InboundMessage,
    PermanentDeliveryError,
    PluginConfigError,
    TemporaryDeliveryError,
)
from agentdesk.plugin.testing import ChannelContract, MemoryState, RecordingContext, serve

CUSTOMER = "+33612345678"
#: The desk phone calls are put through to, and call backs ring first.
AGENT = "+14155550100"
STEP = 5.0


def voice_options(twilio: FakeTwilio, **more: Any) -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "number": NUMBER,
        "forward_to": AGENT,
        "api_base_url": twilio.url,
        **more,
    }


@dataclass
class Voice:
    """A started channel named "voice", served on loopback, and the fake Twilio."""

    channel: TwilioVoiceChannel
    ctx: RecordingContext
    twilio: FakeTwilio

    def url(self, path: str) -> str:
        return self.ctx.url(path)

    def call(self, caller: str = CUSTOMER, **kw: Any) -> CallPlayer:
        """A customer calling, with the status callback URL pasted in the console."""
        kw.setdefault("status_url", self.url(self.channel.paths.status))
        return self.twilio.incoming_call(caller, **kw)

    async def arrive(self, call: CallPlayer) -> httpx.Response:
        response = await call.arrive(self.url(self.channel.paths.voice))
        assert response.status_code == 200, response.text
        return response

    async def next(self) -> Inbound:
        return await self.ctx.next_inbound(STEP)

    async def next_call(self) -> InboundCall:
        item = await self.next()
        assert isinstance(item, InboundCall), item
        return item

    async def next_message(self) -> InboundMessage:
        item = await self.next()
        assert isinstance(item, InboundMessage), item
        return item

    async def nothing_more(self) -> None:
        await asyncio.sleep(0.3)
        assert self.ctx.pending_inbound() == 0, self.ctx.emitted


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


@pytest.fixture
def voice_desk(desk: Desk) -> Desk:
    """The conftest's desk (in-memory store) with this channel registered as "voice"."""
    caps = TwilioVoiceChannel.capabilities
    desk.register_channel(ChannelStatus("voice", "twilio-voice", caps, HealthState.UP))
    return desk


@contextlib.asynccontextmanager
async def running(
    twilio: FakeTwilio,
    *,
    state: MemoryState | None = None,
    data_dir: Path | None = None,
    context_class: type[RecordingContext] = RecordingContext,
    callback_wait: float | None = None,
    **more: Any,
) -> AsyncIterator[Voice]:
    ctx = context_class.for_channel(
        TwilioVoiceChannel,
        voice_options(twilio, **more),
        channel_name="voice",
        state=state,
        data_dir=data_dir,
    )
    try:
        async with serve(ctx):
            channel = TwilioVoiceChannel(ctx)
            if callback_wait is not None:
                channel.book.callback_wait = callback_wait
            await channel.start()
            try:
                yield Voice(channel, ctx, twilio)
            finally:
                await channel.stop()
    finally:
        ctx.close()


def canonical(document: str) -> str:
    return ET.canonicalize(xml_data=document, strip_text=True)


# -- signatures ------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["forged", None], ids=["invalid", "missing"])
async def test_an_unsigned_call_is_refused_and_its_body_not_logged(
    twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, signature: str | None
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentdesk.channel.voice")
    async with running(twilio) as voice:
        call = voice.call(signature=signature)
        refused = await call.arrive(voice.url(voice.channel.paths.voice))
        assert refused.status_code == 403
        assert "<Response" not in refused.text
        # A forged status callback for a call cannot make a call record either.
        status = await call.hang_up(30)
        assert status is not None and status.status_code == 403
        await voice.nothing_more()
        assert voice.ctx.emitted == []
    refusals = [r.getMessage() for r in caplog.records if "refused POST" in r.getMessage()]
    assert len(refusals) == 2
    assert "/channels/voice/voice" in refusals[0] and "/channels/voice/status" in refusals[1]
    assert ("no X-Twilio-Signature" if signature is None else "invalid") in refusals[0]
    assert CUSTOMER not in caplog.text and call.sid not in caplog.text


async def test_every_route_wants_the_signature(twilio: FakeTwilio) -> None:
    async with running(twilio) as voice:
        paths = voice.channel.paths
        for path in (paths.dialed, paths.recorded, paths.recording, paths.transcription):
            call = voice.call(signature="forged")
            response = await call.post(voice.url(path), call.params("completed"))
            assert response.status_code == 403, path
        signed = voice.call()
        bad = await signed.post(voice.url(paths.status), {"CallSid": "nope"})
        assert bad.status_code == 400  # signed, but not a call's callback
        await voice.nothing_more()


# -- TwiML -----------------------------------------------------------------------------


async def test_a_call_is_greeted_then_put_through(twilio: FakeTwilio) -> None:
    more = {"greeting": "Bonjour, merci d'appeler.", "language": "fr-FR", "voice": "Polly.Lea"}
    async with running(twilio, ring_seconds=15, **more) as voice:
        response = await voice.arrive(voice.call())
        assert response.headers["content-type"].startswith("text/xml")
        expected = VoiceResponse()
        expected.say("Bonjour, merci d'appeler.", language="fr-FR", voice="Polly.Lea")
        dial = Dial(timeout=15, action=voice.url(voice.channel.paths.dialed), method="POST")
        dial.number(AGENT)
        expected.append(dial)
        # Twilio's own TwiML classes (a test dependency only) say the same document.
        assert canonical(response.text) == canonical(str(expected))


async def test_straight_to_voicemail_greets_prompts_and_records(twilio: FakeTwilio) -> None:
    more = {"forward_to": "", "max_message_seconds": 90, "voicemail_prompt": "Leave a message."}
    async with running(twilio, **more) as voice:
        response = await voice.arrive(voice.call())
        paths = voice.channel.paths
        expected = VoiceResponse()
        expected.say("Thank you for calling.", language="en-US")
        expected.say("Leave a message.", language="en-US")
        expected.append(
            Record(
                max_length=90,
                play_beep=True,
                action=voice.url(paths.recorded),
                method="POST",
                recording_status_callback=voice.url(paths.recording),
                recording_status_callback_method="POST",
                recording_status_callback_event="completed",
                transcribe=True,
                transcribe_callback=voice.url(paths.transcription),
            )
        )
        assert canonical(response.text) == canonical(str(expected))


async def test_an_unanswered_dial_goes_to_voicemail(twilio: FakeTwilio) -> None:
    async with running(twilio, transcribe=False) as voice:
        call = voice.call()
        await voice.arrive(call)
        response = await call.dial_ends("no-answer")
        document = ET.fromstring(response.text)
        # No second greeting: the prompt, then the recording, without transcription.
        assert [e.tag for e in document] == ["Say", "Record"]
        assert document[0].text == voice.channel.settings.voicemail_prompt
        record = document[1]
        assert record.get("action") == voice.url(voice.channel.paths.recorded)
        assert record.get("transcribe") is None and record.get("transcribeCallback") is None
        after = await call.leave_message(12)
        assert after.status_code == 204
        assert call.twiml is not None and [e.tag for e in call.twiml] == ["Hangup"]


@pytest.mark.parametrize(("dial", "voicemail"), [("completed", True), ("busy", False)])
async def test_a_dial_that_needs_no_voicemail_hangs_up(
    twilio: FakeTwilio, dial: str, voicemail: bool
) -> None:
    async with running(twilio, voicemail=voicemail) as voice:
        call = voice.call()
        await voice.arrive(call)
        response = await call.dial_ends(dial, 30)
        assert canonical(response.text) == canonical("<Response><Hangup/></Response>")


async def test_config_text_is_escaped_in_twiml(twilio: FakeTwilio) -> None:
    greeting = 'Tom & Jerry\'s <Play>http://evil.example/x.mp3</Play> "shop"\x07 ünïcode'
    async with running(twilio, greeting=greeting, forward_to="") as voice:
        response = await voice.arrive(voice.call())
        assert "<Play>" not in response.text and "&lt;Play&gt;" in response.text
        document = ET.fromstring(response.text)  # well-formed despite the bell character
        say = document.find("Say")
        assert say is not None
        assert say.text == greeting.replace("\x07", "")
        assert document.find(".//Play") is None


async def test_an_empty_greeting_says_nothing(twilio: FakeTwilio) -> None:
    async with running(twilio, greeting="") as voice:
        document = ET.fromstring((await voice.arrive(voice.call())).text)
        assert [e.tag for e in document] == ["Dial"]


# -- call records ----------------------------------------------------------------------


async def test_an_answered_call_is_one_call_record(twilio: FakeTwilio, voice_desk: Desk) -> None:
    async with running(twilio) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.dial_ends("completed", 95)
        await call.hang_up(102)
        record = await voice.next_call()
        assert record.identity == CUSTOMER
        assert (record.direction, record.outcome) == ("inbound", "answered")
        assert record.duration_seconds == 102
        assert record.external_id == call.sid
        assert record.summary == f"Answered on {AGENT}, talked 1 min 35 s"
        await voice.nothing_more()
        result = await voice_desk.ingest("voice", record)
        assert isinstance(result.event, CallRecord)
        assert result.event.direction == Direction.INBOUND
        # A conversation that took place leaves nobody waiting.
        assert result.task.waiting_since is None


async def test_a_missed_call_opens_a_waiting_task(twilio: FakeTwilio, voice_desk: Desk) -> None:
    async with running(twilio, voicemail=False, ring_seconds=25) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.dial_ends("no-answer")
        await call.hang_up(27)
        record = await voice.next_call()
        assert record.outcome == "missed"
        assert record.summary == f"Missed call: {AGENT} did not answer"
        result = await voice_desk.ingest("voice", record)
        assert result.created_task
        assert result.task.status == Status.OPEN and result.task.waiting_since is not None
        snapshot = await LocalDeskClient(voice_desk, "ana").snapshot()
        assert result.task.id in [t.id for t in snapshot.tasks]


@pytest.mark.parametrize(
    ("forward", "summary"),
    [
        (True, "Missed call: the caller hung up before anyone answered"),
        (False, "Missed call: the caller hung up without leaving a message"),
    ],
)
async def test_a_caller_who_hangs_up_early_is_a_missed_call(
    twilio: FakeTwilio, forward: bool, summary: str
) -> None:
    more = {} if forward else {"forward_to": ""}
    async with running(twilio, callback_wait=0.2, **more) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.hang_up(3)
        record = await voice.next_call()
        assert (record.outcome, record.summary, record.duration_seconds) == ("missed", summary, 3)


async def test_a_voicemail_and_its_transcription_wait_on_one_task(
    twilio: FakeTwilio, voice_desk: Desk
) -> None:
    async with running(twilio) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.dial_ends("no-answer")
        await call.leave_message(23)
        await call.hang_up(48)
        record = await voice.next_call()
        link = call.recording_url() + ".mp3"
        assert record.outcome == "voicemail" and record.duration_seconds == 48
        assert record.summary == f"Voicemail (23 s): {link}"
        # Twilio transcribes later; the words land on the call's task.
        await call.transcribe("Hello, my order 4471 arrived broken, please call me back.")
        words = await voice.next_message()
        assert words.thread_ref == call.sid and words.external_id == call.transcription_sid
        assert words.text.endswith("my order 4471 arrived broken, please call me back.")
        assert [(a.name, a.content_type) for a in words.attachments] == [(link, "audio/mpeg")]
        await voice.nothing_more()

        first = await voice_desk.ingest("voice", record)
        second = await voice_desk.ingest("voice", words)
        assert second.task.id == first.task.id and not second.created_task
        task = voice_desk.store.get_task(first.task.id)
        assert task is not None and task.status == Status.OPEN and task.waiting_since is not None
        kinds = [type(e) for e in voice_desk.store.events_of_task(task.id)]
        assert kinds == [CallRecord, Message]
        client = LocalDeskClient(voice_desk, "ana")
        page = await client.search("broken 4471")
        assert [hit.task_id for hit in page.hits] == [task.id]


async def test_a_transcription_before_the_end_of_the_call_follows_its_record(
    twilio: FakeTwilio, voice_desk: Desk
) -> None:
    async with running(twilio, forward_to="") as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.leave_message(9)
        await call.transcribe("Quick question about invoice 1009.")
        await asyncio.sleep(0.2)
        assert voice.ctx.emitted == []  # the call has not ended yet
        await call.hang_up(20)
        record, words = await voice.next_call(), await voice.next_message()
        assert record.outcome == "voicemail" and words.thread_ref == record.external_id
        first = await voice_desk.ingest("voice", record)
        assert (await voice_desk.ingest("voice", words)).task.id == first.task.id
        page = await LocalDeskClient(voice_desk, "ana").search("invoice 1009")
        assert [hit.task_id for hit in page.hits] == [first.task.id]


async def test_a_record_waits_for_a_recording_that_comes_after_the_hang_up(
    twilio: FakeTwilio,
) -> None:
    async with running(twilio, forward_to="", callback_wait=5) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.hang_up(30)  # Twilio's status callback overtook the recording's
        await asyncio.sleep(0.3)
        assert voice.ctx.emitted == []
        await call.recording_status("completed", 14)
        record = await voice.next_call()
        assert record.outcome == "voicemail" and "(14 s)" in record.summary


async def test_a_recording_later_than_the_wait_becomes_a_message(twilio: FakeTwilio) -> None:
    async with running(twilio, forward_to="", callback_wait=0.1) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.hang_up(30)
        assert (await voice.next_call()).outcome == "missed"
        await call.recording_status("completed", 14)
        late = await voice.next_message()
        assert late.thread_ref == call.sid and late.external_id == call.recording_sid
        assert late.text == f"Voicemail (14 s): {call.recording_url()}.mp3"


async def test_without_the_status_callback_a_call_is_recorded_all_the_same(
    twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(twilio, callback_wait=0.3) as voice:
        call = voice.call(status_url=None)
        await voice.arrive(call)
        await call.dial_ends("no-answer")
        await call.leave_message(16)
        assert await call.hang_up(40) is None  # nothing tells the desk the call ended
        record = await voice.next_call()
        assert record.outcome == "voicemail" and "(16 s)" in record.summary
        assert record.duration_seconds < 5  # measured by the desk: the fake plays fast
    assert "had no final status callback" in caplog.text


# -- duplicates and crashes ------------------------------------------------------------


async def test_every_callback_twice_makes_nothing_twice(
    twilio: FakeTwilio, voice_desk: Desk
) -> None:
    state = MemoryState()
    async with running(twilio, state=state) as voice:
        call = voice.call()
        for _ in range(2):
            await voice.arrive(call)
        for _ in range(2):
            await call.dial_ends("no-answer")
        for _ in range(2):
            await call.leave_message(23)
        for _ in range(2):
            await call.hang_up(48)
        for _ in range(2):
            await call.transcribe("Twice is once.")
        record, words = await voice.next_call(), await voice.next_message()
        await voice.nothing_more()
        assert len(voice.ctx.emitted) == 2
        for item in (record, words):
            await voice_desk.ingest("voice", item)
        before = voice.url("")
    # Restarted, the channel still knows the call is done (its durable state).
    async with running(twilio, state=state) as voice:
        call.moved(before, voice.url(""))
        await call.hang_up(48)
        await call.transcribe("Twice is once.")
        await voice.nothing_more()
    # And were it emitted again, the desk drops a record with the same CallSid.
    again = await voice_desk.ingest("voice", record)
    assert again.duplicate
    events = voice_desk.store.events_of_task(again.task.id)
    assert [type(e) for e in events] == [CallRecord, Message]


async def test_a_callback_answered_but_not_stored_comes_back_after_a_crash(
    twilio: FakeTwilio, tmp_path: Path
) -> None:
    state = MemoryState()
    opts: dict[str, Any] = {"state": state, "data_dir": tmp_path}
    async with running(twilio, context_class=GatedContext, **opts) as voice:
        call = voice.call()
        await voice.arrive(call)
        await call.dial_ends("completed", 60)
        await call.hang_up(64)
        await asyncio.sleep(0.2)
        assert voice.ctx.emitted == []  # the desk never took it
    async with running(twilio, **opts) as voice:
        record = await voice.next_call()
        assert record.external_id == call.sid and record.outcome == "answered"
        await voice.nothing_more()
        await asyncio.sleep(0.1)
        assert not list((tmp_path / "spool").glob("*.json"))


def test_a_call_whose_status_never_comes_is_recorded_after_hours() -> None:
    book = CallBook(MemoryState(), logging.getLogger("test"))
    sid = "CA" + "7" * 32
    start = 1_700_000_000.0
    incoming = CallEvent("incoming", sid, start, customer=CUSTOMER, route="forward", agent=AGENT)
    assert book.apply(incoming) == []
    assert book.apply(CallEvent("dialed", sid, start + 40, status="completed", seconds=30)) == []
    assert book.next_deadline() == start + STALE_AFTER
    assert book.due(start + STALE_AFTER - 1) == []
    [record] = book.due(start + STALE_AFTER)
    assert isinstance(record, InboundCall) and record.outcome == "answered"
    assert book.pending == {} and book.next_deadline() is None
    assert book.apply(CallEvent(STATUS, sid, start + 60, status="completed", seconds=50)) == []


# -- calling back ----------------------------------------------------------------------


async def test_call_back_asks_twilio_to_ring_the_agent_then_the_customer(
    twilio: FakeTwilio,
) -> None:
    async with running(twilio, ring_seconds=30) as voice:
        line = await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert line == f"ringing {AGENT}, then {CUSTOMER}"
        [request] = twilio.call_creates()
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        assert request.user == ACCOUNT_SID
        assert request.content_type.startswith("application/x-www-form-urlencoded")
        form = request.form
        assert (form["To"], form["From"], form["Timeout"]) == (AGENT, NUMBER, "30")
        status = urlsplit(form["StatusCallback"])
        assert status.path == voice.channel.paths.status
        assert parse_qs(status.query) == {"direction": ["outbound"], "customer": [CUSTOMER]}
        assert form["StatusCallbackMethod"] == "POST"
        events = [v for k, v in request.pairs if k == "StatusCallbackEvent"]
        assert events == ["initiated", "ringing", "answered", "completed"]
        document = ET.fromstring(form["Twiml"])
        dial = document.find("Dial")
        assert dial is not None and dial.get("callerId") == NUMBER
        assert [n.text for n in dial.findall("Number")] == [CUSTOMER]
        action = urlsplit(dial.get("action") or "")
        assert action.path == voice.channel.paths.dialed
        assert parse_qs(action.query)["customer"] == [CUSTOMER]
        [made] = twilio.calls
        assert made.to == AGENT and made.twiml == form["Twiml"]


async def test_a_call_back_lands_as_an_outbound_call_record(
    twilio: FakeTwilio, voice_desk: Desk
) -> None:
    async with running(twilio, callback_wait=0.1) as voice:
        missed = voice.call()
        await voice.arrive(missed)
        await missed.dial_ends("busy")
        await missed.hang_up(5)
        waiting = await voice_desk.ingest("voice", await voice.next_call())
        await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        [placed] = twilio.calls
        await twilio.play(placed).bridge(customer="completed", talk=95)
        record = await voice.next_call()
        assert record.identity == CUSTOMER and record.external_id == placed.sid
        assert (record.direction, record.outcome) == ("outbound", "answered")
        assert record.duration_seconds == 104
        assert record.summary == f"Call back from {AGENT}: talked 1 min 35 s"
        await voice.nothing_more()
        result = await voice_desk.ingest("voice", record)
        assert result.task.id == waiting.task.id
        assert isinstance(result.event, CallRecord)
        assert result.event.direction == Direction.OUTBOUND


@pytest.mark.parametrize(
    ("agent", "customer", "summary"),
    [
        ("no-answer", "", f"Call back not made: the agent's phone {AGENT} did not answer"),
        ("busy", "", f"Call back not made: the agent's phone {AGENT} was busy"),
        ("answers", "no-answer", "Call back: the customer did not answer (no-answer)"),
        ("answers", "busy", "Call back: the customer did not answer (busy)"),
    ],
)
async def test_a_call_back_that_reached_nobody(
    twilio: FakeTwilio, agent: str, customer: str, summary: str
) -> None:
    async with running(twilio) as voice:
        await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        await twilio.play(twilio.calls[0]).bridge(agent=agent, customer=customer)
        record = await voice.next_call()
        assert (record.direction, record.outcome, record.summary) == ("outbound", "missed", summary)


async def test_a_call_back_with_a_key_rings_once(twilio: FakeTwilio) -> None:
    state = MemoryState()
    async with running(twilio, state=state) as voice:
        first = await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1") == first
        assert len(twilio.calls) == 1
    async with running(twilio, state=state) as voice:
        assert await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1") == first
        assert len(twilio.calls) == 1
        await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-2")
    assert len(twilio.calls) == 2 and len(twilio.call_creates()) == 2


async def test_a_call_back_whose_answer_never_came_is_not_placed_again(
    twilio: FakeTwilio,
) -> None:
    async with running(twilio, timeout=0.3) as voice:
        twilio.stall_next(1.0, after_create=True)  # Twilio placed it, then answered late
        with pytest.raises(TemporaryDeliveryError, match="not placed again"):
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        with pytest.raises(PermanentDeliveryError, match="not placed again"):
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert len(twilio.calls) == 1 and len(twilio.call_creates()) == 1


@pytest.mark.parametrize(
    ("status", "code", "permanent", "sentence"),
    [
        (400, 21211, True, f"{AGENT} is not a valid phone number (Twilio 21211)"),
        (400, 21215, True, "may not call this country (see Geo Permissions"),
        (400, 21219, True, "a trial account calls verified numbers only"),
        (400, 21999, True, "Twilio refused the call: Something odd (Twilio 21999)"),
        (429, 20429, False, "Twilio is limiting how fast we call; try again later (Twilio 20429)"),
        (503, None, False, "Twilio failed on its side (HTTP 503); try again later"),
    ],
)
async def test_twilio_refusals_of_a_call_back_become_typed_errors(
    twilio: FakeTwilio, status: int, code: int | None, permanent: bool, sentence: str
) -> None:
    async with running(twilio) as voice:
        twilio.fail_next(status, code, "Something odd")
        with pytest.raises(DeliveryError) as raised:
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert isinstance(raised.value, PermanentDeliveryError) == permanent
        assert sentence in str(raised.value)
        assert twilio.calls == []
        if status < 500:
            # A refusal placed nothing: the same key may try again.
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
            assert len(twilio.calls) == 1
        else:
            # Twilio may have placed it before failing: that key never rings again.
            with pytest.raises(PermanentDeliveryError, match="not placed again"):
                await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
            assert twilio.calls == []


async def test_a_number_not_of_the_account_is_refused_by_the_fake(twilio: FakeTwilio) -> None:
    twilio.numbers = {"+15005550006"}
    async with running(twilio) as voice:
        with pytest.raises(PermanentDeliveryError, match=r"not one of this Twilio account's"):
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")


async def test_refused_credentials_degrade_the_channel(twilio: FakeTwilio) -> None:
    more = {"api_key_sid": API_KEY_SID, "api_key_secret": "wrong"}
    async with running(twilio, **more) as voice:
        with pytest.raises(TemporaryDeliveryError, match=r"credentials.*20003"):
            await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert voice.channel.health().state == HealthState.DEGRADED
    async with running(twilio, api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET) as voice:
        await voice.channel.call_back(CUSTOMER, agent="sam", key="cb-1")
        assert twilio.call_creates()[-1].user == API_KEY_SID


@pytest.mark.parametrize(
    ("customer", "more", "problem"),
    [
        ("0612345678", {}, "international form"),
        ("", {}, "international form"),
        (AGENT, {}, "are the same"),
        (CUSTOMER, {"agent_number": "", "forward_to": ""}, "no phone is configured for sam"),
    ],
)
async def test_call_backs_that_cannot_be_placed_ask_twilio_nothing(
    twilio: FakeTwilio, customer: str, more: dict[str, Any], problem: str
) -> None:
    async with running(twilio, **more) as voice:
        with pytest.raises(PermanentDeliveryError, match=problem):
            await voice.channel.call_back(customer, agent="sam", key="cb-1")
        assert twilio.requests == []


async def test_call_back_rings_the_agents_own_phone_and_needs_a_running_channel(
    twilio: FakeTwilio,
) -> None:
    more = {"agent_phones": ["Sam = +1 (415) 555-0199", "ana=+442071838750"]}
    ctx = RecordingContext.for_channel(TwilioVoiceChannel, voice_options(twilio, **more))
    channel = TwilioVoiceChannel(ctx)
    with pytest.raises(TemporaryDeliveryError, match="not running"):
        await channel.call_back(CUSTOMER, agent="sam", key="cb-1")
    ctx.close()
    async with running(twilio, **more) as voice:
        assert await voice.channel.call_back(CUSTOMER, agent="sam", key="1") == (
            f"ringing +14155550199, then {CUSTOMER}"
        )
        await voice.channel.call_back(CUSTOMER, agent="Ana", key="2")
        # Anyone else: agent_number, here forward_to.
        await voice.channel.call_back("+33 6 12 34 56 78", agent="lee", key="3")
        sent = [
            (r.form["To"], parse_qs(urlsplit(r.form["StatusCallback"]).query)["customer"])
            for r in twilio.call_creates()
        ]
        assert sent == [
            ("+14155550199", [CUSTOMER]),
            ("+442071838750", [CUSTOMER]),
            (AGENT, [CUSTOMER]),
        ]


# -- health, options, registration -----------------------------------------------------


async def test_the_health_line_names_the_urls_to_paste(twilio: FakeTwilio) -> None:
    async with running(twilio) as voice:
        health = voice.channel.health()
        assert health.state == HealthState.UP
        assert voice.url(voice.channel.paths.voice) in health.detail
        assert voice.url(voice.channel.paths.status) in health.detail
        assert "loopback" in health.detail
    assert voice.channel.health().state == HealthState.STOPPED


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": " "}, "auth_token"),
        ({"api_key_sid": API_KEY_SID}, "api_key_secret"),
        ({"number": "5551234"}, "number"),
        ({"forward_to": "desk phone"}, "forward_to"),
        ({"forward_to": NUMBER}, "forward_to"),
        ({"forward_to": "", "voicemail": False}, "voicemail"),
        ({"max_message_seconds": 300}, "max_message_seconds"),
        ({"ring_seconds": 2}, "ring_seconds"),
        ({"ring_seconds": 20.5}, "ring_seconds"),
        ({"language": "english!"}, "language"),
        ({"voice": "Polly Joanna"}, "voice"),
        ({"greeting": "x" * 5000}, "greeting"),
        ({"agent_number": "123"}, "agent_number"),
        ({"agent_phones": ["sam"]}, "agent_phones"),
        ({"agent_phones": ["sam=+1415555", "=+14155550100"]}, "agent_phones"),
        ({"api_base_url": "http://api.twilio.com"}, "api_base_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_malformed_option_names_its_key(change: dict[str, Any], key: str) -> None:
    options = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "number": NUMBER,
        "forward_to": AGENT,
        **change,
    }
    with pytest.raises(PluginConfigError, match=rf"^(voice\.)?{key}: "):
        ctx = RecordingContext.for_channel(TwilioVoiceChannel, options, channel_name="voice")
        TwilioVoiceChannel(ctx)


def test_long_voicemails_are_allowed_untranscribed() -> None:
    options = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "number": NUMBER,
        "max_message_seconds": 600,
        "transcribe": False,
    }
    ctx = RecordingContext.for_channel(TwilioVoiceChannel, options)
    assert TwilioVoiceChannel(ctx).settings.max_message_seconds == 600
    ctx.close()


def test_the_channel_is_registered_as_an_entry_point() -> None:
    [found] = [e for e in entry_points(group="agentdesk.channels") if e.name == "twilio-voice"]
    assert found.load() is TwilioVoiceChannel
    assert TwilioVoiceChannel.plugin == "twilio-voice"


# -- the conformance kit ---------------------------------------------------------------


class TestTwilioVoiceContract(ChannelContract):
    channel_class = TwilioVoiceChannel
    channel_name = "twilio-voice"
    options: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    async def _fake_twilio(self, twilio: FakeTwilio) -> AsyncIterator[None]:
        self.twilio = twilio
        self.options = voice_options(twilio)
        yield

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        assert isinstance(channel, TwilioVoiceChannel)
        call = self.twilio.incoming_call(CUSTOMER, status_url=ctx.url(channel.paths.status))
        assert (await call.arrive(ctx.url(channel.paths.voice))).status_code == 200
        assert (await call.dial_ends("completed", 30)).status_code == 200
        await call.hang_up(35)
