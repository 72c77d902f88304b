"""The data a channel exchanges with the desk.

These types are the plugin API's own, so a plugin depends on nothing else of
agentdesk. Times are epoch seconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """A message the provider approved in advance, sendable when free text is not.

    ``text`` is what the customer reads, with ``{{1}}``, ``{{2}}``... where the
    agent's parameters go; ``parameters`` names them for the agent, in order.
    """

    name: str
    text: str
    language: str = ""
    parameters: tuple[str, ...] = ()

    def render(self, values: tuple[str, ...]) -> str:
        """The text with ``values`` in place of its placeholders."""
        out = self.text
        for number, value in enumerate(values, start=1):
            out = out.replace("{{" + str(number) + "}}", value)
        return out


@dataclass(frozen=True, slots=True)
class SurveyQuestion:
    """One question of a satisfaction survey sent after a task closed.

    A channel whose ``survey_form`` is ``"inline"`` shows it as a rating the
    customer clicks (``low`` to ``high``, the labels at each end) with a
    comment box, and emits the answer as ``InboundSurvey(metric=metric,
    task_number=outbound.task_number)``. Other channels need do nothing:
    ``Outbound.text`` already says it all (the question and "reply with a
    number", or one link per score for ``"link"``).
    """

    metric: str  # "csat" or "ces"
    question: str
    low: int
    high: int
    low_label: str = ""
    high_label: str = ""
    #: For the "link" form: one URL per score, ``low`` first.
    links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do. The console adapts to it (length counters, typing)."""

    #: The kind of contact: "email", "chat", "sms", "social", "phone", ...
    kind: str
    #: The identity kind this channel reaches a customer by: "email", "phone", "chat", "social".
    identity_kind: str
    realtime: bool = False
    inbound: bool = True
    outbound: bool = True
    #: Longest text ``send`` accepts, in characters; None means no limit.
    max_text_length: int | None = None
    #: Set (to 160) for a channel billed in SMS segments: the composer then
    #: counts segments as carriers do (``sms_segments``: GSM-7 160/153, UCS-2
    #: 70/67) and names the characters that force UCS-2.
    segment_length: int | None = None
    threading: bool = False
    attachments: bool = False
    typing_indicators: bool = False
    read_receipts: bool = False
    #: The channel places calls for agents (it implements ``Channel.call_back``).
    calls: bool = False
    #: Free text may be sent only this many hours after the customer's last
    #: message on this channel (WhatsApp's customer-service window); after it,
    #: only one of ``templates``. None: no window. The desk refuses free text
    #: outside it before queueing, and the composer shows the time left.
    reply_window_hours: float | None = None
    #: The templates an agent may send, inside or outside the window.
    templates: tuple[ReplyTemplate, ...] = ()
    #: How a satisfaction survey is put to the customer here: "text" (the
    #: question, answered by a number in a reply), "link" (one link per
    #: score, for email), "inline" (the channel shows a rating the customer
    #: clicks: see ``SurveyQuestion``), or "none" (never surveyed here).
    survey_form: str = "text"


@dataclass(frozen=True, slots=True)
class SampleWebhook:
    """A request the channel's provider would send to one of its routes:
    what ``agentdesk plugins check`` posts to check inbound."""

    #: The route's path, as given to ``add_route`` ("/inbound").
    path: str
    body: str
    content_type: str = "application/json"
    method: str = "POST"
    #: More headers (a signature computed from the options, say).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    #: Where the plugin saved the bytes (under ``context.data_dir``), if it kept them.
    path: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message from a customer. ``external_id`` lets the desk drop duplicates."""

    identity: str  # the customer's address on this channel: email, phone, session, handle
    text: str
    external_id: str | None = None
    customer_name: str = ""
    subject: str = ""
    html: str | None = None
    #: A reference to an earlier message or conversation (the email In-Reply-To, a
    #: chat session): threads this message onto that task.
    thread_ref: str | None = None
    #: A task number the customer quoted (e.g. "[#1042]" in a subject), a weaker
    #: threading hint than ``thread_ref``.
    task_number: int | None = None
    at: float | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    #: Extra identities learnt with the message (a chat visitor typing their email):
    #: tuples of (kind, value).
    other_identities: tuple[tuple[str, str], ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundCall:
    """A phone call that happened (a call record, not audio)."""

    identity: str
    direction: str = "inbound"  # or "outbound"
    duration_seconds: float = 0.0
    outcome: str = "answered"  # answered, missed, voicemail
    summary: str = ""
    external_id: str | None = None
    customer_name: str = ""
    at: float | None = None


@dataclass(frozen=True, slots=True)
class InboundSurvey:
    """A customer's answer to a satisfaction survey about a task."""

    identity: str
    #: "csat" (1-5), "ces" (CES 2.0, 1-7: "the company made it easy"), "nps" (0-10).
    metric: str
    score: int
    comment: str = ""
    task_number: int | None = None
    external_id: str | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class TypingSignal:
    """The customer is typing (or stopped) in a real-time channel."""

    identity: str
    typing: bool = True


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A reply this channel sent earlier has reached the customer (``"delivered"``)
    or been seen (``"read"``): ``key`` is its ``Outbound.key``.

    For channels that learn it after ``send`` returned (a read receipt, a
    device that comes back online). A receipt for a key the desk does not
    know, or one that would move a reply backwards, changes nothing.
    """

    key: str
    state: str = "read"  # "delivered" or "read"


Inbound = InboundMessage | InboundCall | InboundSurvey | TypingSignal | DeliveryReceipt
#: The classes of ``Inbound``, for ``isinstance``.
INBOUND_TYPES = (InboundMessage, InboundCall, InboundSurvey, TypingSignal, DeliveryReceipt)


@dataclass(frozen=True, slots=True)
class Outbound:
    """A reply to send. Sending twice with the same ``key`` must not send twice."""

    key: str
    to: str  # the customer's address on this channel
    text: str
    task_id: str
    task_number: int
    customer_name: str = ""
    subject: str = ""
    html: str | None = None
    #: The last inbound message's external id and thread reference, for threading.
    in_reply_to: str | None = None
    thread_ref: str | None = None
    references: tuple[str, ...] = ()
    agent: str = ""
    #: Set when the agent sent one of the channel's ``templates``: its name and
    #: the parameters, in order. ``text`` is then the rendered template.
    template: str | None = None
    template_params: tuple[str, ...] = ()
    #: Set when this message is a satisfaction survey: its questions.
    survey: tuple[SurveyQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """What ``send`` returns once the channel has accepted the message."""

    external_id: str | None = None
    state: str = "sent"  # "sent" or "delivered"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HandoffContext:
    """A conversation moving onto this channel from another one."""

    task_id: str
    task_number: int
    customer_name: str
    to: str  # the customer's address on this channel
    from_channel: str
    context: str  # a short line telling the customer why they hear from us here
    subject: str = ""


class HealthState(StrEnum):
    STARTING = "starting"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Health:
    state: HealthState
    detail: str = ""
