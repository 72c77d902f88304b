"""Events: the entries of a task's timeline.

Every event belongs to one task and one customer. Events are appended; the only
event that changes after it is written is an outbound message, whose delivery
state moves from ``queued`` to ``sent``/``delivered`` or ``failed``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple, get_args

import msgspec


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


class Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind", gc=False):
    """The fields every event has. Encoded, an event carries its ``kind``
    (``"message"``, ``"note"``...), which tells the decoder its class."""

    id: str
    task_id: str
    customer_id: str
    at: float
    # Who did it: an agent name, "customer", or "system".
    actor: str = "system"

    @property
    def kind(self) -> str:
        return self.__struct_config__.tag  # type: ignore[return-value]


class SurveyAsk(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A question a survey message put to the customer, as it was sent."""

    metric: str  # csat (1-5) or ces (1-7)
    question: str
    low: int
    high: int
    low_label: str = ""
    high_label: str = ""
    #: The "link" form's answer URLs, one per score from ``low``.
    links: list[str] = []


class Message(Event, tag="message"):
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
    attachments: list[Attachment] = []
    delivery: DeliveryState = DeliveryState.RECEIVED
    delivery_error: str | None = None
    idempotency_key: str | None = None
    # An approved template the agent sent (a messaging window had closed):
    # its name and parameters; ``text`` is the template rendered.
    template: str | None = None
    template_params: list[str] = []
    # A satisfaction survey the desk sent after the task closed: its questions.
    survey: list[SurveyAsk] = []


class Note(Event, tag="note"):
    text: str


class Whisper(Event, tag="whisper"):
    """A lead's note for the task's agent alone: only they and leads see it,
    and search never finds it."""

    text: str
    to: str

    def seen_by(self, agent: str, lead: bool) -> bool:
        """Whether ``agent`` (a lead or not) may see it."""
        return lead or self.to == agent


class StatusChange(Event, tag="status"):
    old: str
    new: str
    pending_until: float | None = None


class Assignment(Event, tag="assignment"):
    old_assignee: str | None = None
    new_assignee: str | None = None


class Transfer(Event, tag="transfer"):
    old_assignee: str | None = None
    new_assignee: str | None = None
    old_team: str | None = None
    new_team: str | None = None
    note: str = ""


class Handoff(Event, tag="handoff"):
    from_channel: str
    to_channel: str
    to_identity: str = ""
    context: str = ""


class TaskUpdate(Event, tag="update"):
    """A change of a task field other than status or owner (tags, priority, subject)."""

    field: str
    old: Any = None
    new: Any = None


class CallRecord(Event, tag="call"):
    direction: Direction
    channel: str
    channel_kind: str = "phone"
    external_id: str | None = None
    duration_seconds: float = 0.0
    outcome: str = "answered"  # answered, missed, voicemail
    summary: str = ""


class SurveyAnswer(Event, tag="survey"):
    metric: str  # csat (1-5), ces (1-7, CES 2.0: "it was easy"), nps (0-10)
    score: int
    comment: str = ""
    channel: str = ""
    #: The agent credited: the one who closed the task, as the survey was sent.
    agent: str = ""
    #: The channel's id of the answer, which makes a replay a duplicate.
    external_id: str | None = None


#: Any event, for decoding: the ``kind`` tells the class.
AnyEvent = (
    Message
    | Note
    | Whisper
    | StatusChange
    | Assignment
    | Transfer
    | Handoff
    | TaskUpdate
    | CallRecord
    | SurveyAnswer
)
EVENT_CLASSES: tuple[type[Event], ...] = get_args(AnyEvent)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in EVENT_CLASSES
}
