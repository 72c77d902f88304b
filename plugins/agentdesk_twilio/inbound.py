"""What Twilio's webhooks say: an incoming message, or a reply's status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .optout import keyword

#: Twilio sends at most 10 media per MMS; more would not be a Twilio request.
MAX_MEDIA = 10
#: A message id as Twilio makes them (SMS, MMS, and messages of other channels).
_MESSAGE_SID = re.compile(r"(SM|MM|IM)[0-9a-fA-F]{32}")


class WebhookProblem(ValueError):
    """The request is signed but not what the route expects (logged, answered 400)."""


@dataclass(frozen=True, slots=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True, slots=True)
class IncomingSms:
    """An incoming message, as the inbound webhook describes it."""

    sid: str
    sender: str
    recipient: str
    body: str
    media: tuple[Media, ...] = ()
    #: When the webhook came (Unix time): the spool replays it with this time.
    received_at: float = 0.0
    #: Media the message announced beyond ``MAX_MEDIA``.
    dropped_media: int = 0
    #: ``"stop"`` or ``"start"`` when the text opts the number out or back in.
    opt_out: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "from": self.sender,
            "to": self.recipient,
            "body": self.body,
            "media": [[m.url, m.content_type] for m in self.media],
            "received_at": self.received_at,
            "dropped_media": self.dropped_media,
            "opt_out": self.opt_out,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncomingSms:
        return cls(
            sid=str(data["sid"]),
            sender=str(data["from"]),
            recipient=str(data.get("to") or ""),
            body=str(data.get("body") or ""),
            media=tuple(Media(str(u), str(t)) for u, t in data.get("media") or ()),
            received_at=float(data.get("received_at") or 0.0),
            dropped_media=int(data.get("dropped_media") or 0),
            opt_out=data.get("opt_out") if data.get("opt_out") in ("stop", "start") else None,
        )


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A status callback about a reply we sent."""

    sid: str
    status: str
    #: The reply's outbox key, from the StatusCallback URL we gave Twilio.
    key: str | None
    recipient: str = ""
    error_code: str | None = None


def parse_incoming(form: dict[str, str], received_at: float) -> IncomingSms:
    """The message of an inbound webhook's fields (MessageSid, From, To, Body, media)."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if _MESSAGE_SID.fullmatch(sid) is None:
        raise WebhookProblem("the webhook has no valid MessageSid")
    sender = form.get("From", "").strip()
    if not sender:
        raise WebhookProblem("the webhook has no From")
    announced = _count(form.get("NumMedia"))
    media = []
    for index in range(min(announced, MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        if url.startswith(("https://", "http://")):
            kind = form.get(f"MediaContentType{index}") or "application/octet-stream"
            media.append(Media(url, kind[:100]))
    body = form.get("Body", "")
    # Twilio's Advanced Opt-Out names what a keyword did, its own or one the
    # account added in the console (a STOP in another language, say).
    told = {"STOP": "stop", "START": "start"}.get(form.get("OptOutType", "").strip().upper())
    return IncomingSms(
        sid=sid,
        sender=sender,
        recipient=form.get("To", "").strip(),
        body=body,
        media=tuple(media),
        received_at=received_at,
        dropped_media=max(0, announced - MAX_MEDIA),
        opt_out=keyword(body) or told,
    )


def parse_status(form: dict[str, str], key: str | None) -> StatusReport:
    """The report of a status callback's fields (MessageSid, MessageStatus, ErrorCode)."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if _MESSAGE_SID.fullmatch(sid) is None:
        raise WebhookProblem("the status callback has no valid MessageSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not status:
        raise WebhookProblem("the status callback has no MessageStatus")
    error = (form.get("ErrorCode") or "").strip() or None
    return StatusReport(sid, status, key or None, form.get("To", "").strip(), error)


def _count(raw: str | None) -> int:
    try:
        return max(0, int(raw or "0"))
    except ValueError:
        return 0
