"""Events: the entries of a task's timeline.

Every event belongs to one task and one customer. Events are appended; the only
event that changes after it is written is an outbound message, whose delivery
state moves from ``queued`` to ``sent``/``delivered`` or ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class DeliveryState(StrEnum):
    RECEIVED = "received"  # an inbound message
    QUEUED = "queued"  # in the outbox, not yet confirmed by the channel
    SENT = "sent"  # the channel accepted it
    DELIVERED = "delivered"  # the channel confirmed it reached the customer
    READ = "read"
    FAILED = "failed"  # permanent failure; the reason is on the message


class Attachment(NamedTuple):
    """A file that came with a message (held as ``[name, type, size, path]``)."""

    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    # Where the bytes are kept (relative to the store), when they were kept.
    path: str | None = None


@dataclass(slots=True, kw_only=True)
class Event:
    id: str
    task_id: str
    customer_id: str
    at: float
    # Who did it: an agent name, "customer", or "system".
    actor: str = "system"
    kind: str = "event"


@dataclass(slots=True, kw_only=True)
class Message(Event):
    kind: str = "message"
    direction: Direction
    channel: str
    channel_kind: str = ""
    text: str = ""
    html: str | None = None
    subject: str = ""
    external_id: str | None = None
    # The channel's reference to the conversation (an email Message-ID chain,
    # a chat session), used to thread replies.
    thread_ref: str | None = None
    # The customer's identity on this channel: the sender of an inbound
    # message, the recipient of an outbound one ("kind:value").
    identity: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    delivery: DeliveryState = DeliveryState.RECEIVED
    delivery_error: str | None = None
    idempotency_key: str | None = None


@dataclass(slots=True, kw_only=True)
class Note(Event):
    kind: str = "note"
    text: str


@dataclass(slots=True, kw_only=True)
class StatusChange(Event):
    kind: str = "status"
    old: str
    new: str
    pending_until: float | None = None


@dataclass(slots=True, kw_only=True)
class Assignment(Event):
    kind: str = "assignment"
    old_assignee: str | None = None
    new_assignee: str | None = None


@dataclass(slots=True, kw_only=True)
class Transfer(Event):
    kind: str = "transfer"
    old_assignee: str | None = None
    new_assignee: str | None = None
    old_team: str | None = None
    new_team: str | None = None
    note: str = ""


@dataclass(slots=True, kw_only=True)
class Handoff(Event):
    kind: str = "handoff"
    from_channel: str
    to_channel: str
    to_identity: str = ""
    context: str = ""


@dataclass(slots=True, kw_only=True)
class TaskUpdate(Event):
    """A change of a task field other than status or owner (tags, priority, subject)."""

    kind: str = "update"
    field: str
    old: object = None
    new: object = None


@dataclass(slots=True, kw_only=True)
class CallRecord(Event):
    kind: str = "call"
    direction: Direction
    channel: str
    channel_kind: str = "phone"
    external_id: str | None = None
    duration_seconds: float = 0.0
    outcome: str = "answered"  # answered, missed, voicemail
    summary: str = ""


@dataclass(slots=True, kw_only=True)
class SurveyAnswer(Event):
    kind: str = "survey"
    metric: str  # csat (1-5), nps (0-10), ces (1-10)
    score: int
    comment: str = ""
    channel: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    "message": Message,
    "note": Note,
    "status": StatusChange,
    "assignment": Assignment,
    "transfer": Transfer,
    "handoff": Handoff,
    "update": TaskUpdate,
    "call": CallRecord,
    "survey": SurveyAnswer,
}
