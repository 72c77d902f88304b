"""How one timeline event reads on screen: a header line and an optional body.

Everything a customer (or a channel) wrote goes into ``Text`` objects as data,
through ``safe_line``/``capped_text``; nothing is parsed as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from agentdesk.domain import (
    Assignment,
    CallRecord,
    DeliveryState,
    Direction,
    Event,
    Handoff,
    Message,
    Note,
    StatusChange,
    SurveyAnswer,
    TaskUpdate,
    Transfer,
    Whisper,
)

from .labels import DELIVERY_LABELS, channel_badge, format_time, format_wait
from .safe_text import capped_text, safe_line


@dataclass(slots=True)
class EventText:
    """An event ready to draw: CSS classes, a header line, and a body (maybe empty)."""

    classes: str
    header: Text
    body: Text | None = None


def _who(name: str) -> str:
    return safe_line(name or "someone", 40)


def _identity(value: str) -> str:
    # "email:ana@example.com" reads better without its kind.
    return safe_line(value.partition(":")[2] or value, 60)


def describe_event(event: Event, *, now: float, customer_name: str = "customer") -> EventText:
    """The header (and body) of ``event`` as the conversation shows it."""
    when = format_time(event.at, now)
    if isinstance(event, Message):
        return _message(event, when, customer_name)
    if isinstance(event, Whisper):
        header = Text.assemble(
            ("🗣 whisper", "bold"), f" · {_who(event.actor)} to {_who(event.to)} · {when}"
        )
        return EventText("event -whisper", header, capped_text(event.text))
    if isinstance(event, Note):
        header = Text.assemble(("✎ internal note", "bold"), f" · {_who(event.actor)} · {when}")
        return EventText("event -note", header, capped_text(event.text))
    if isinstance(event, CallRecord):
        arrow = "◀" if event.direction == Direction.INBOUND else "▶"
        header = Text.assemble(
            (f"{arrow} ☎ {event.direction} call", "bold"),
            f" · {channel_badge(event.channel_kind).strip()} {safe_line(event.channel, 20)}",
            f" · {when} · {format_wait(event.duration_seconds)} · {safe_line(event.outcome, 20)}",
        )
        body = capped_text(event.summary) if event.summary else None
        return EventText("event -call", header, body)
    return EventText("event -system", Text(f"{when} {summarize_event(event)}"))


def _message(event: Message, when: str, customer_name: str) -> EventText:
    badge = f"{channel_badge(event.channel_kind).strip()} {safe_line(event.channel, 20)}"
    if event.direction == Direction.INBOUND:
        header = Text.assemble(
            ("◀ ", "bold"), (_who(customer_name), "bold"), f" · {badge} · {when}"
        )
        classes = "event -inbound"
    else:
        state = DELIVERY_LABELS.get(event.delivery, str(event.delivery))
        header = Text.assemble(("▶ ", "bold"), (_who(event.actor), "bold"), f" · {badge} · {when}")
        header.append(" · ")
        header.append(state, "bold" if event.delivery != DeliveryState.SENT else "")
        if event.delivery == DeliveryState.FAILED and event.delivery_error:
            header.append(": " + safe_line(event.delivery_error, 160))
        classes = f"event -outbound -{event.delivery}"
    body = Text()
    if event.subject and event.channel_kind == "email":
        body.append(f"Subject: {safe_line(event.subject, 200)}\n", "italic")
    body.append_text(capped_text(event.text))
    if event.attachments:
        names = ", ".join(safe_line(a.name, 60) for a in event.attachments[:10])
        more = len(event.attachments) - 10
        body.append(f"\n📎 {names}" + (f" and {more} more" if more > 0 else ""), "italic")
    return EventText(classes, header, body)


def summarize_event(event: Event) -> str:
    """One line for any event, as the timeline and system rows show it."""
    who = _who(event.actor)
    if isinstance(event, Message):
        arrow = "◀" if event.direction == Direction.INBOUND else "▶"
        return f"{arrow} {channel_badge(event.channel_kind).strip()} {safe_line(event.text, 80)}"
    if isinstance(event, Whisper):
        return f"🗣 whisper by {who} to {_who(event.to)}: {safe_line(event.text, 80)}"
    if isinstance(event, Note):
        return f"✎ note by {who}: {safe_line(event.text, 80)}"
    if isinstance(event, StatusChange):
        text = f"○ {who} set {event.old} → {event.new}"
        if event.pending_until:
            text += f" (until {format_time(event.pending_until, event.at)})"
        return text
    if isinstance(event, Assignment):
        target = _who(event.new_assignee) if event.new_assignee else "nobody"
        return f"→ {who} assigned the task to {target}"
    if isinstance(event, Transfer):
        parts = []
        if event.new_assignee:
            parts.append(f"agent {_who(event.new_assignee)}")
        if event.new_team:
            parts.append(f"team {_who(event.new_team)}")
        text = f"⇄ {who} transferred the task to {' and '.join(parts) or 'the queue'}"
        if event.note:
            text += f": {safe_line(event.note, 120)}"
        return text
    if isinstance(event, Handoff):
        text = f"⇒ handoff {safe_line(event.from_channel, 20)} → {safe_line(event.to_channel, 20)}"
        if event.to_identity:
            text += f" ({_identity(event.to_identity)})"
        if event.context:
            text += f": {safe_line(event.context, 120)}"
        return text
    if isinstance(event, TaskUpdate):
        change = f"{_value(event.old)} → {_value(event.new)}"
        return f"✱ {who} changed {safe_line(event.field, 20)}: {change}"
    if isinstance(event, CallRecord):
        return f"☎ {event.direction} call, {format_wait(event.duration_seconds)}, {event.outcome}"
    if isinstance(event, SurveyAnswer):
        top = SURVEY_TOPS.get(event.metric)
        text = f"★ {safe_line(event.metric.upper(), 8)} {event.score}" + (f"/{top}" if top else "")
        if event.agent:
            text += f" for {safe_line(event.agent, 30)}"
        if event.comment:
            text += f": {safe_line(event.comment, 80)}"
        return text
    return f"· {safe_line(event.kind, 20)}"


#: The top of each survey's scale, shown after the score.
SURVEY_TOPS = {"csat": 5, "ces": 7, "nps": 10}


def _value(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return safe_line(", ".join(str(v) for v in value) or "—", 60)
    return safe_line(str(value), 40)
