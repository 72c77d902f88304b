"""What a webhook notification says: messages from customers, statuses of our replies.

Meta posts ``{"object": "whatsapp_business_account", "entry": [{"changes":
[{"field": "messages", "value": {...}}]}]}``; each ``value`` belongs to one
business number (``metadata.phone_number_id``) and holds ``contacts`` and
``messages``, or ``statuses``. One app's webhook may serve several numbers:
a value for another number is left alone.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

#: Longest message id accepted (Meta's wamids are about 60 characters).
_MAX_ID = 256


class WebhookProblem(ValueError):
    """The request is signed but is not a WhatsApp notification (answered 400)."""


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A customer's message as the webhook gave it; ``body`` is Meta's message object."""

    id: str
    sender: str
    kind: str
    body: dict[str, Any]
    name: str = ""
    sent_at: float | None = None
    #: When the webhook came (Unix time): a spooled message is replayed with it.
    received_at: float = 0.0

    @property
    def spool_key(self) -> str:
        return "m-" + hashlib.sha256(self.id.encode("utf-8")).hexdigest()[:40]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "message",
            "id": self.id,
            "from": self.sender,
            "type": self.kind,
            "body": self.body,
            "name": self.name,
            "sent_at": self.sent_at,
            "received_at": self.received_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncomingMessage:
        return cls(
            id=str(data["id"]),
            sender=str(data["from"]),
            kind=str(data["type"]),
            body=dict(data["body"]),
            name=str(data.get("name") or ""),
            sent_at=_number(data.get("sent_at")),
            received_at=float(data.get("received_at") or 0.0),
        )


@dataclass(frozen=True, slots=True)
class StatusError:
    code: int | None
    title: str = ""
    details: str = ""


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What became of a message we sent: sent, delivered, read or failed."""

    message_id: str
    status: str
    recipient: str = ""
    #: What the send put in ``biz_opaque_callback_data``: the reply's outbox key.
    key: str | None = None
    errors: tuple[StatusError, ...] = ()
    received_at: float = 0.0

    @property
    def spool_key(self) -> str:
        digest = hashlib.sha256(f"{self.message_id}\n{self.status}".encode()).hexdigest()
        return "s-" + digest[:40]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "status",
            "id": self.message_id,
            "status": self.status,
            "recipient": self.recipient,
            "key": self.key,
            "errors": [[e.code, e.title, e.details] for e in self.errors],
            "received_at": self.received_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatusReport:
        return cls(
            message_id=str(data["id"]),
            status=str(data["status"]),
            recipient=str(data.get("recipient") or ""),
            key=data["key"] if isinstance(data.get("key"), str) else None,
            errors=tuple(
                StatusError(code if isinstance(code, int) else None, str(title), str(details))
                for code, title, details in data.get("errors") or ()
            ),
            received_at=float(data.get("received_at") or 0.0),
        )


Item = IncomingMessage | StatusReport


def decode(data: dict[str, Any]) -> Item:
    """An item read back from the spool."""
    if data.get("kind") == "status":
        return StatusReport.from_json(data)
    return IncomingMessage.from_json(data)


@dataclass(slots=True)
class Notification:
    """Everything one webhook POST holds for our number."""

    messages: list[IncomingMessage] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    #: Why some parts were left out (malformed, another number's), for the log.
    skipped: list[str] = field(default_factory=list)


def parse_notification(payload: Any, phone_number_id: str, received_at: float) -> Notification:
    """The messages and statuses for ``phone_number_id`` in a webhook's JSON."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise WebhookProblem("not a WhatsApp Business Account notification")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise WebhookProblem("the notification has no entry list")
    found = Notification()
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else ():
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # template reviews, account updates: not the desk's
            value = change.get("value")
            if not isinstance(value, dict):
                found.skipped.append("a change without a value")
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if str(number) != phone_number_id:
                found.skipped.append(f"a change for another number ({str(number)[:30]})")
                continue
            _read_value(value, received_at, found)
    return found


def _read_value(value: dict[str, Any], received_at: float, found: Notification) -> None:
    names: dict[str, str] = {}
    for contact in _list(value.get("contacts")):
        profile = contact.get("profile") if isinstance(contact, dict) else None
        name = profile.get("name") if isinstance(profile, dict) else None
        wa_id = contact.get("wa_id") if isinstance(contact, dict) else None
        if isinstance(wa_id, str) and isinstance(name, str):
            names[wa_id] = name[:200]
    for message in _list(value.get("messages")):
        parsed = _message(message, names, received_at)
        if isinstance(parsed, str):
            found.skipped.append(parsed)
        else:
            found.messages.append(parsed)
    for status in _list(value.get("statuses")):
        report = _status(status, received_at)
        if isinstance(report, str):
            found.skipped.append(report)
        else:
            found.statuses.append(report)
    for error in _list(value.get("errors")):
        if isinstance(error, dict):
            found.skipped.append(f"an error from Meta: {_error(error).title or 'no title'}")


def _message(message: Any, names: dict[str, str], received_at: float) -> IncomingMessage | str:
    if not isinstance(message, dict):
        return "a message that is not an object"
    wamid, sender, kind = message.get("id"), message.get("from"), message.get("type")
    if not isinstance(wamid, str) or not 0 < len(wamid) <= _MAX_ID:
        return "a message without an id"
    if not isinstance(sender, str) or not sender.strip():
        return f"message {wamid[:80]} without a sender"
    if not isinstance(kind, str) or not kind:
        return f"message {wamid[:80]} without a type"
    first_name = next(iter(names.values()), "")
    return IncomingMessage(
        id=wamid,
        sender=sender.strip(),
        kind=kind[:40],
        body=message,
        name=names.get(sender, first_name if len(names) == 1 else ""),
        sent_at=_number(message.get("timestamp")),
        received_at=received_at,
    )


def _status(status: Any, received_at: float) -> StatusReport | str:
    if not isinstance(status, dict):
        return "a status that is not an object"
    wamid, state = status.get("id"), status.get("status")
    if not isinstance(wamid, str) or not 0 < len(wamid) <= _MAX_ID:
        return "a status without a message id"
    if not isinstance(state, str) or not state:
        return f"a status of {wamid[:80]} without its state"
    opaque = status.get("biz_opaque_callback_data")
    recipient = status.get("recipient_id")
    return StatusReport(
        message_id=wamid,
        status=state.lower()[:20],
        recipient=recipient if isinstance(recipient, str) else "",
        key=opaque if isinstance(opaque, str) and opaque else None,
        errors=tuple(_error(e) for e in _list(status.get("errors")) if isinstance(e, dict)),
        received_at=received_at,
    )


def _error(error: dict[str, Any]) -> StatusError:
    code = error.get("code")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return StatusError(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(error.get("title") or error.get("message") or "")[:300],
        str(details or "")[:300],
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return found if math.isfinite(found) and found > 0 else None
