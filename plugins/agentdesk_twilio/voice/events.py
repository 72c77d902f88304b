"""What Twilio's voice webhooks say, one ``CallEvent`` per request.

Every request about a call (its arrival, the end of a Dial, a recording,
a transcription, a status change) becomes an event named by its CallSid.
Events are spooled before Twilio is answered, so each has a key that is
the same when Twilio sends the same request again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..inbound import WebhookProblem

INCOMING = "incoming"
DIALED = "dialed"
RECORDED = "recorded"
STATUS = "status"
RECORDING = "recording"
TRANSCRIPTION = "transcription"
KINDS = (INCOMING, DIALED, RECORDED, STATUS, RECORDING, TRANSCRIPTION)

#: A call's statuses, in Twilio's words; the last five end it.
CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "answered"}
    | {"completed", "busy", "failed", "no-answer", "canceled"}
)
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_TRANSCRIPTION_SID = re.compile(r"TR[0-9a-fA-F]{32}")
_WORD = re.compile(r"[a-z-]{1,20}")


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One request from Twilio about call ``call_sid``; fields it lacks stay empty."""

    kind: str
    call_sid: str
    received_at: float
    #: "inbound", or "outbound" for a call back (named in the URL we gave Twilio).
    direction: str = "inbound"
    #: The customer's number: the caller, or the number a call back dials.
    customer: str = ""
    caller_name: str = ""
    #: CallStatus, DialCallStatus, RecordingStatus or TranscriptionStatus.
    status: str = ""
    #: CallDuration, DialCallDuration or RecordingDuration.
    seconds: int = 0
    #: What our TwiML did with the call: "forward" or "voicemail".
    route: str = ""
    #: Our TwiML answered this request with <Hangup/>: the call is over.
    hangs_up: bool = False
    #: The number the call was put through to.
    agent: str = ""
    recording_url: str = ""
    recording_sid: str = ""
    transcription_sid: str = ""
    text: str = ""

    @property
    def sid(self) -> str:
        """The spool key: the same for a request Twilio sends twice."""
        detail = {
            STATUS: self.status,
            RECORDING: self.recording_sid,
            TRANSCRIPTION: self.transcription_sid,
        }.get(self.kind, "")
        return f"{self.call_sid}-{self.kind}" + (f"-{detail}" if detail else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallEvent:
        known = {f.name for f in fields(cls)}
        event = cls(**{k: v for k, v in data.items() if k in known})
        if event.kind not in KINDS or _CALL_SID.fullmatch(event.call_sid) is None:
            raise ValueError("not a call event")
        return event


def parse(kind: str, form: dict[str, str], query: dict[str, str], received_at: float) -> CallEvent:
    """The event of a signed request to the route of ``kind``.

    ``query`` is the route's query string, which only we write (Twilio signs
    it with the rest): a call back names itself ``direction=outbound`` and
    its customer there, since Twilio's own From and To are the agent's leg.
    """
    sid = form.get("CallSid", "")
    if _CALL_SID.fullmatch(sid) is None:
        raise WebhookProblem("the request has no valid CallSid")
    outbound = query.get("direction") == "outbound"
    customer = query.get("customer", "") if outbound else form.get("From", "").strip()
    base: dict[str, Any] = {
        "kind": kind,
        "call_sid": sid,
        "received_at": received_at,
        "direction": "outbound" if outbound else "inbound",
        "customer": customer[:40],
        "caller_name": form.get("CallerName", "").strip()[:200],
        # A call back's own leg rings the agent: its To is the agent's phone.
        "agent": form.get("To", "").strip()[:40] if outbound else "",
    }
    if kind == INCOMING:
        if not customer:
            raise WebhookProblem("the incoming call has no From")
        return CallEvent(**base)
    if kind == STATUS:
        status = _word(form.get("CallStatus"))
        if status not in CALL_STATUSES:
            raise WebhookProblem("the status callback has no known CallStatus")
        return CallEvent(**base, status=status, seconds=_count(form.get("CallDuration")))
    if kind == DIALED:
        return CallEvent(
            **base,
            status=_word(form.get("DialCallStatus")),
            seconds=_count(form.get("DialCallDuration")),
        )
    if kind in (RECORDED, RECORDING):
        recording = form.get("RecordingSid", "")
        if _RECORDING_SID.fullmatch(recording) is None:
            raise WebhookProblem("the recording callback has no valid RecordingSid")
        return CallEvent(
            **base,
            # The Record's action has no status: the recording just ended.
            status=_word(form.get("RecordingStatus")) or "completed",
            seconds=_count(form.get("RecordingDuration")),
            recording_sid=recording,
            recording_url=_link(form.get("RecordingUrl")),
        )
    if kind == TRANSCRIPTION:
        transcription = form.get("TranscriptionSid", "")
        if _TRANSCRIPTION_SID.fullmatch(transcription) is None:
            raise WebhookProblem("the transcription callback has no valid TranscriptionSid")
        recording = form.get("RecordingSid", "")
        return CallEvent(
            **base,
            status=_word(form.get("TranscriptionStatus")),
            transcription_sid=transcription,
            text=form.get("TranscriptionText", "").strip(),
            recording_sid=recording if _RECORDING_SID.fullmatch(recording) else "",
            recording_url=_link(form.get("RecordingUrl")),
        )
    raise WebhookProblem(f"no such call event: {kind}")


def _word(raw: str | None) -> str:
    word = (raw or "").strip().lower()
    return word if _WORD.fullmatch(word) else ""


def _count(raw: str | None) -> int:
    try:
        return max(0, int(raw or "0"))
    except ValueError:
        return 0


def _link(raw: str | None) -> str:
    link = (raw or "").strip()
    return link[:1000] if link.startswith(("https://", "http://")) else ""
