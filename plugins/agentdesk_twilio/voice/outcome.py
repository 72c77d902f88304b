"""What a finished call becomes on the desk: one call record, and the
voicemail's words as a message on the same task.

A call record (``InboundCall``) carries no text beyond its summary, no
attachment and no thread reference. So the voicemail's recording link goes
in the summary, and its transcription, which Twilio sends later, arrives
as an ``InboundMessage`` whose ``thread_ref`` is the CallSid: the desk puts
it on the task of the call record with that external id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agentdesk.plugin import InboundAttachment, InboundCall, InboundMessage

#: Dial outcomes in which the person rung picked up.
PICKED_UP = frozenset({"completed", "answered"})
_WHY = {
    "no-answer": "did not answer",
    "busy": "was busy",
    "failed": "could not be reached",
    "canceled": "was hung up on while ringing",
}


@dataclass(slots=True)
class Call:
    """What is known of one call so far; kept in the channel's state until it ends."""

    sid: str
    customer: str
    direction: str
    started: float
    caller_name: str = ""
    #: What our TwiML did: "forward", "voicemail", "hangup", "bridge" (a call back).
    route: str = ""
    agent: str = ""
    dial_status: str = ""
    dial_seconds: int = 0
    status: str = ""
    seconds: int = 0
    #: When the final status came (Unix time).
    ended: float | None = None
    #: When our TwiML hung up (after a Dial, after a message), if it did.
    hung_up: float | None = None
    recording_url: str = ""
    recording_sid: str = ""
    recording_seconds: int = 0
    #: Twilio reported the recording absent or failed: nothing to wait for.
    no_recording: bool = False
    #: Transcriptions that came before the call ended: [sid, text, received_at].
    transcripts: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def has_message(self) -> bool:
        # A transcription says there were words even before the recording's length is known.
        return bool(self.recording_url) and (self.recording_seconds > 0 or bool(self.transcripts))


def listen_link(url: str) -> str:
    """The recording as MP3, which a browser plays (the bare link is a WAV file)."""
    return url if url.endswith((".mp3", ".wav")) else url + ".mp3"


def duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def outcome(call: Call) -> tuple[str, str]:
    """(answered, missed or voicemail; a summary that reads well as a task's subject)."""
    if call.direction == "outbound":
        return _call_back(call)
    if call.has_message:
        return "voicemail", (
            f"Voicemail ({duration(call.recording_seconds)}): {listen_link(call.recording_url)}"
        )
    if call.dial_status in PICKED_UP:
        return "answered", f"Answered on {call.agent}, talked {duration(call.dial_seconds)}"
    if call.dial_status in _WHY:
        if call.dial_status == "canceled":
            return "missed", f"Missed call: the caller hung up while {call.agent} was ringing"
        tail = "; no message was left" if call.route == "voicemail" else ""
        return "missed", f"Missed call: {call.agent} {_WHY[call.dial_status]}{tail}"
    if call.route == "voicemail":
        return "missed", "Missed call: the caller hung up without leaving a message"
    if call.route == "forward":
        return "missed", "Missed call: the caller hung up before anyone answered"
    if not call.route and call.status == "completed" and call.seconds > 0:
        # A call another application answered (a Studio flow): only its status is known.
        return "answered", f"Answered outside the desk, {duration(call.seconds)}"
    return "missed", f"Missed call ({call.status or 'no status'})"


def _call_back(call: Call) -> tuple[str, str]:
    if call.dial_status in PICKED_UP:
        return "answered", f"Call back from {call.agent}: talked {duration(call.dial_seconds)}"
    if call.status in _WHY and call.status != "canceled":
        return "missed", f"Call back not made: the agent's phone {call.agent} {_WHY[call.status]}"
    if call.status == "canceled":
        return "missed", "Call back canceled before the agent answered"
    why = call.dial_status or "hung up"
    return "missed", f"Call back: the customer did not answer ({why})"


def call_record(call: Call) -> InboundCall:
    result, summary = outcome(call)
    # Twilio's CallDuration; without a final status, from our own clock.
    seconds = (
        call.seconds if call.ended is not None else (call.hung_up or call.started) - call.started
    )
    return InboundCall(
        identity=call.customer,
        direction=call.direction,
        duration_seconds=float(round(max(0.0, seconds))),
        outcome=result,
        summary=summary,
        external_id=call.sid,
        customer_name=call.caller_name,
        at=call.started or None,
    )


def voicemail_words(
    call_sid: str, customer: str, sid: str, text: str, at: float, recording_url: str
) -> InboundMessage:
    """A voicemail's transcription, on the task of its call record."""
    return InboundMessage(
        identity=customer,
        text=f"Voicemail transcription: {text}",
        external_id=sid,
        thread_ref=call_sid,
        at=at or None,
        attachments=_recording(recording_url),
    )


def late_recording(
    call_sid: str, customer: str, sid: str, url: str, seconds: int, at: float
) -> InboundMessage:
    """A recording that came after its call record was stored (Twilio was slow)."""
    return InboundMessage(
        identity=customer,
        text=f"Voicemail ({duration(seconds)}): {listen_link(url)}",
        external_id=sid,
        thread_ref=call_sid,
        at=at or None,
        attachments=_recording(url),
    )


def _recording(url: str) -> tuple[InboundAttachment, ...]:
    # Listed by its link, as the SMS channel lists media it did not store.
    return (InboundAttachment(listen_link(url), "audio/mpeg"),) if url else ()
