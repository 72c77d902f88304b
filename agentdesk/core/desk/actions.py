"""Agent actions: reply, note, status, assignment, handoff, tags, merge.

Each action has a planner: a pure function of a ``PlanContext`` and the
request, run by the pipeline on the store's thread. It checks its input
against what the store holds and returns a ``Plan``; the pipeline commits
and publishes. Refusals are ``DeskError`` with a code and a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentdesk.api import DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.errors import channel_unavailable, conflict, forbidden, not_found
from agentdesk.api.messages import UNKNOWN_KIND
from agentdesk.domain import (
    Assignment,
    Customer,
    DeliveryState,
    Direction,
    Handoff,
    Identity,
    IllegalTransition,
    Message,
    Note,
    OutboxEntry,
    Priority,
    Status,
    StatusChange,
    Task,
    TaskUpdate,
    Transfer,
    Whisper,
    check_transition,
)
from agentdesk.domain.evolve import evolve
from agentdesk.domain.reply_window import reply_window
from agentdesk.domain.text import clean_text, one_line
from agentdesk.plugin import Capabilities, HandoffContext
from agentdesk.store import Batch

from .context import Plan, PlanContext, address
from .stream import Notice

MAX_REPLY = 100_000


def parse_identity(ctx: PlanContext, kind: str, text: str) -> Identity:
    """Check an identity typed by an agent; DeskError says what is wrong."""
    text = one_line(clean_text(text), 320).strip()
    problem = ctx.kinds.problem(kind, text)
    if problem is not None:
        raise DeskError(problem.rstrip("."))
    return ctx.kinds.identity(kind, text)


# --- messages -------------------------------------------------------------


def recipient(ctx: PlanContext, task: Task, channel: str) -> str:
    """The identity to write to on ``channel``: the last one the customer used
    there, else their identity of the kind the channel reaches."""
    for event in reversed(ctx.store.events_of_task(task.id)):
        if isinstance(event, Message) and event.channel == channel and event.identity:
            return event.identity
    status = ctx.channel(channel)
    if status is None:
        raise channel_unavailable(f"{task.label}: channel {channel} is not configured")
    kind = status.capabilities.identity_kind
    customer = ctx.store.get_customer(task.customer_id)
    identity = customer.identity(kind) if customer else None
    if identity is None:
        raise channel_unavailable(
            f"{task.label}: the customer has no {kind} identity to write to on {channel}"
        )
    return str(identity)


def queue_message(
    ctx: PlanContext,
    batch: Batch,
    task: Task,
    text: str,
    channel: str,
    to: str,
    template: Chosen | None = None,
) -> Message:
    """An outbound message on ``channel`` and its outbox entry, added to ``batch``.
    ``template``: the channel's template it renders (checked by ``render_template``)."""
    status = ctx.channel(channel)
    caps = status.capabilities if status else None
    if caps is not None and not caps.outbound:
        raise channel_unavailable(f"channel {channel} cannot send messages")
    if caps is not None and caps.reply_window_hours and template is None:
        events = ctx.store.events_of_task(task.id)
        window = reply_window(events, channel, caps.reply_window_hours, ctx.now)
        if not window.open:
            raise channel_unavailable(f"{channel} takes no free text now: {window.describe()}")
    if caps is not None and caps.max_text_length and len(text) > caps.max_text_length:
        limit = caps.max_text_length
        raise DeskError(f"the reply is {len(text)} characters; {channel} takes at most {limit}")
    if ctx.refusal is not None and (why := ctx.refusal(channel, address(to), text)):
        raise channel_unavailable(f"{channel} will not send this: {why}")
    message = Message(
        **ctx.event_base(task),
        direction=Direction.OUTBOUND,
        channel=channel,
        # A channel not loaded yet has no kind of its own: the task's is right.
        channel_kind=caps.kind if caps and caps.kind != UNKNOWN_KIND else task.channel_kind,
        text=text,
        identity=to,
        delivery=DeliveryState.QUEUED,
        template=template.name if template else None,
        template_params=list(template.params) if template else [],
    )
    message.idempotency_key = message.id
    batch.events.append(message)
    batch.outbox_put.append(
        OutboxEntry(key=message.id, event_id=message.id, task_id=task.id, channel=channel)
    )
    return message


@dataclass(frozen=True, slots=True)
class Chosen:
    """A template an agent chose, with the parameters they gave."""

    name: str
    params: tuple[str, ...]


def render_template(
    ctx: PlanContext, channel: str, name: str, params: list[str]
) -> tuple[str, Chosen]:
    """The text of ``channel``'s template ``name`` with ``params``, checked."""
    status = ctx.channel(channel)
    templates = status.capabilities.templates if status else ()
    found = next((t for t in templates if t.name == name), None)
    if found is None:
        known = ", ".join(t.name for t in templates) or "none"
        raise DeskError(f"{channel} has no template {name!r} (templates: {known})")
    values = tuple(clean_text(v, 1000).strip() for v in params)
    if len(values) != len(found.parameters) or not all(values):
        wanted = ", ".join(found.parameters) or "none"
        raise DeskError(
            f"template {name} takes {len(found.parameters)} parameter(s) ({wanted}); "
            f"{sum(1 for v in values if v)} given"
        )
    return clean_text(found.render(values), MAX_REPLY).strip(), Chosen(name, values)


def plan_reply(ctx: PlanContext, request: rq.Reply) -> Plan:
    task = ctx.task(request.task_id)
    if not task.channel:
        raise channel_unavailable(f"{task.label} has no channel to reply on")
    chosen = None
    if request.template is not None:
        text, chosen = render_template(ctx, task.channel, request.template, request.params)
    else:
        text = clean_text(request.text, MAX_REPLY).strip()
    if not text:
        raise DeskError("the reply is empty")
    batch = Batch()
    to = recipient(ctx, task, task.channel)
    message = queue_message(ctx, batch, task, text, task.channel, to, chosen)
    batch.tasks.append(
        evolve(
            task,
            updated_at=message.at,
            first_response_at=task.first_response_at or message.at,
            waiting_since=None,
            unread=False,
            preview=one_line(text, 200),
        )
    )
    return Plan(batch, [], message)


def typing_target(ctx: PlanContext, task_id: str) -> tuple[str, str] | None:
    """(channel, recipient) to show the agent's typing to, if the task's channel can."""
    task = ctx.task(task_id)
    status = ctx.channel(task.channel) if task.channel else None
    if status is None or not status.capabilities.typing_indicators:
        return None
    try:
        to = recipient(ctx, task, task.channel)
    except DeskError:
        return None  # nobody to show it to
    return task.channel, address(to)


def read_receipt_target(ctx: PlanContext, task_id: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(channel, recipient, message ids) to tell the customer an agent read,
    when an unread task on a channel that sends read receipts is opened: the
    customer's messages there since the last reply."""
    task = ctx.task(task_id)
    status = ctx.channel(task.channel) if task.channel else None
    if not task.unread or status is None or not status.capabilities.read_receipts:
        return None
    unanswered: list[str] = []
    for event in ctx.store.events_of_task(task.id):
        if isinstance(event, Message) and event.channel == task.channel:
            if event.direction == Direction.OUTBOUND:
                unanswered.clear()
            elif event.external_id:
                unanswered.append(event.external_id)
    if not unanswered:
        return None
    try:
        to = recipient(ctx, task, task.channel)
    except DeskError:
        return None
    return task.channel, address(to), tuple(unanswered)


def plan_note(ctx: PlanContext, request: rq.AddNote) -> Plan:
    task = ctx.task(request.task_id)
    text = clean_text(request.text, MAX_REPLY).strip()
    if not text:
        raise DeskError("the note is empty")
    if not request.whisper:
        note = Note(**ctx.event_base(task), text=text)
        return Plan(Batch(events=[note], tasks=[evolve(task, updated_at=note.at)]), [], note)
    if not ctx.actor.role.at_least(Role.LEAD):
        raise forbidden(f"{ctx.actor.agent} ({ctx.actor.role}) may not whisper: that takes a lead")
    if task.assignee is None:
        raise DeskError(f"{task.label} has no agent to whisper to")
    whisper = Whisper(**ctx.event_base(task), text=text, to=task.assignee)
    notice = Notice(
        f"{ctx.actor.agent} whispers on {task.label}: {one_line(text, 120)}", task.assignee
    )
    batch = Batch(events=[whisper], tasks=[evolve(task, updated_at=whisper.at)])
    return Plan(batch, [notice], whisper)


# --- status and ownership ----------------------------------------------------


def plan_status(ctx: PlanContext, request: rq.SetStatus) -> Plan:
    task = ctx.task(request.task_id)
    try:
        new = Status(request.status)
    except ValueError:
        raise DeskError(f"unknown status {request.status!r}") from None
    return _status_change(ctx, task, new, request.pending_until, [])


def plan_wake(ctx: PlanContext, task_id: str) -> Plan:
    """A snoozed task whose time has come, reopened by the desk itself."""
    task = ctx.task(task_id)
    if task.pending_until is None or task.pending_until > ctx.now:
        raise conflict(f"{task.label} is not due to wake")
    notices = [Notice(f"{task.label} is back from snooze", task.assignee)] if task.assignee else []
    return _status_change(ctx, task, Status.OPEN, None, notices)


def _status_change(
    ctx: PlanContext, task: Task, new: Status, pending_until: float | None, notices: list[Notice]
) -> Plan:
    try:
        check_transition(task.number, task.status, new)
    except IllegalTransition as exc:
        raise DeskError(str(exc)) from None
    now = ctx.now
    if new == Status.PENDING and pending_until is not None and pending_until <= now:
        raise DeskError("the snooze time is in the past")
    changes: dict[str, Any] = {"status": new, "updated_at": now, "pending_until": None}
    if new == Status.CLOSED:
        changes.update(closed_at=now, waiting_since=None, unread=False)
    elif new == Status.PENDING:
        changes.update(pending_until=pending_until)
    else:
        changes.update(closed_at=None)
    event = StatusChange(
        **ctx.event_base(task), old=task.status, new=new, pending_until=pending_until
    )
    updated = evolve(task, **changes)
    return Plan(Batch(tasks=[updated], events=[event]), notices, updated)


def _agent_name(text: str | None) -> str | None:
    return one_line(clean_text(text or ""), 100) or None


def plan_assign(ctx: PlanContext, request: rq.Assign) -> Plan:
    task = ctx.task(request.task_id)
    assignee = _agent_name(request.assignee)
    if assignee == task.assignee:
        raise DeskError(f"{task.label} is already assigned to {assignee or 'nobody'}")
    event = Assignment(**ctx.event_base(task), old_assignee=task.assignee, new_assignee=assignee)
    updated = evolve(task, assignee=assignee, updated_at=event.at)
    notices = []
    if assignee and assignee != ctx.actor.agent:
        notices.append(Notice(f"{task.label} was assigned to you by {ctx.actor.agent}", assignee))
    return Plan(Batch(tasks=[updated], events=[event]), notices, updated)


def plan_transfer(ctx: PlanContext, request: rq.Transfer) -> Plan:
    task = ctx.task(request.task_id)
    assignee = _agent_name(request.assignee)
    team = _agent_name(request.team)
    if assignee is None and team is None:
        raise DeskError("transfer to whom? give an agent or a team")
    event = Transfer(
        **ctx.event_base(task),
        old_assignee=task.assignee,
        new_assignee=assignee,
        old_team=task.team,
        new_team=team or task.team,
        note=clean_text(request.note or "", 5000),
    )
    updated = evolve(task, assignee=assignee, team=team or task.team, updated_at=event.at)
    notices = []
    if assignee and assignee != ctx.actor.agent:
        text = f"{task.label} was transferred to you by {ctx.actor.agent}"
        notices.append(Notice(text + (f": {event.note}" if event.note else ""), assignee))
    return Plan(Batch(tasks=[updated], events=[event]), notices, updated)


def plan_priority(ctx: PlanContext, request: rq.SetPriority) -> Plan:
    try:
        priority = Priority(request.priority)
    except ValueError:
        known = ", ".join(p.value for p in Priority)
        raise DeskError(f"unknown priority {request.priority!r} (one of {known})") from None
    return _field_change(ctx, request.task_id, "priority", priority)


def plan_tags(ctx: PlanContext, request: rq.SetTags) -> Plan:
    clean: list[str] = []
    for tag in request.tags:
        tag = one_line(clean_text(tag), 50).strip().lower().replace(" ", "-")
        if tag and tag not in clean:
            clean.append(tag)
    return _field_change(ctx, request.task_id, "tags", clean)


def _field_change(ctx: PlanContext, task_id: str, field: str, value: object) -> Plan:
    task = ctx.task(task_id)
    old = getattr(task, field)
    if old == value:
        return Plan(Batch(), [], task)
    event = TaskUpdate(**ctx.event_base(task), field=field, old=old, new=value)
    updated = evolve(task, **{field: value, "updated_at": event.at})
    return Plan(Batch(tasks=[updated], events=[event]), [], updated)


def plan_mark_read(ctx: PlanContext, request: rq.MarkRead) -> Plan:
    task = ctx.task(request.task_id)
    if not task.unread:
        return Plan(Batch(), [], None)
    return Plan(Batch(tasks=[evolve(task, unread=False)]), [], None)


# --- handoff -------------------------------------------------------------------


def handoff_context(ctx: PlanContext, request: rq.Handoff) -> tuple[Identity, HandoffContext]:
    """The checked target identity and what the target channel is asked to write."""
    task = ctx.task(request.task_id)
    caps = _handoff_target(ctx, task, request.to_channel)
    identity = parse_identity(ctx, caps.identity_kind, request.to_identity)
    customer = _handoff_customer(ctx, task, identity)
    return identity, HandoffContext(
        task_id=task.id,
        task_number=task.number,
        customer_name=customer.display_name,
        to=identity.value,
        from_channel=task.channel,
        context=clean_text(request.message or "", MAX_REPLY).strip(),
        subject=task.subject,
    )


def _handoff_target(ctx: PlanContext, task: Task, to_channel: str) -> Capabilities:
    status = ctx.channel(to_channel)
    if status is None:
        known = ", ".join(ctx.channels) or "none"
        raise not_found(f"unknown channel {to_channel!r} (channels: {known})")
    if to_channel == task.channel:
        raise DeskError(f"{task.label} is already on {to_channel}")
    if status.capabilities.kind == UNKNOWN_KIND:
        # No conversation there yet, and no way to know whom to address.
        raise channel_unavailable(f"channel {to_channel} is not loaded: {status.last_error}")
    if not status.capabilities.outbound and not status.capabilities.calls:
        raise channel_unavailable(f"channel {to_channel} cannot send messages")
    return status.capabilities


def _handoff_customer(ctx: PlanContext, task: Task, identity: Identity) -> Customer:
    customer = ctx.store.get_customer(task.customer_id)
    if customer is None:
        raise DeskError(f"{task.label}: its customer is missing", ErrorCode.INTERNAL)
    owner = ctx.store.customer_by_identity(identity)
    if owner is not None and owner.id != customer.id:
        raise conflict(f"{identity.value} belongs to another customer ({owner.display_name})")
    return customer


def plan_handoff(ctx: PlanContext, request: rq.Handoff, identity: Identity, context: str) -> Plan:
    """The handoff itself, once the target channel has written its context."""
    task = ctx.task(request.task_id)
    caps = _handoff_target(ctx, task, request.to_channel)
    customer = _handoff_customer(ctx, task, identity)
    batch = Batch()
    if identity not in customer.identities:
        batch.customers.append(evolve(customer, identities=[*customer.identities, identity]))
    event = Handoff(
        **ctx.event_base(task),
        from_channel=task.channel,
        to_channel=request.to_channel,
        to_identity=str(identity),
        context=context,
    )
    batch.events.append(event)
    updated = evolve(task, channel=request.to_channel, channel_kind=caps.kind, updated_at=event.at)
    chosen = None
    if request.template is not None:
        context, chosen = render_template(ctx, request.to_channel, request.template, request.params)
    if context and caps.outbound:  # a calling channel's context is the call it placed
        queue_message(ctx, batch, updated, context, request.to_channel, str(identity), chosen)
        updated = evolve(updated, waiting_since=None, preview=one_line(context, 200))
    batch.tasks.append(updated)
    return Plan(batch, [], updated)


# --- customers -------------------------------------------------------------------


def plan_merge(ctx: PlanContext, request: rq.MergeCustomers) -> Plan:
    if request.keep_id == request.merge_id:
        raise DeskError("cannot merge a customer into itself")
    keep = ctx.store.get_customer(request.keep_id)
    gone = ctx.store.get_customer(request.merge_id)
    if keep is None or gone is None:
        raise not_found("both customers must exist to merge them")
    if keep.merged_into or gone.merged_into:
        raise conflict("one of these customers was already merged")
    merged = evolve(
        keep,
        name=keep.name or gone.name,
        identities=[*keep.identities, *(i for i in gone.identities if i not in keep.identities)],
        attributes={**gone.attributes, **keep.attributes},
        tags=[*keep.tags, *(t for t in gone.tags if t not in keep.tags)],
    )
    batch = Batch(customers=[evolve(gone, identities=[], merged_into=keep.id), merged])
    for task in ctx.store.tasks_of_customer(gone.id):
        batch.tasks.append(evolve(task, customer_id=keep.id, customer_name=merged.display_name))
        for event in ctx.store.events_of_task(task.id):
            batch.events.append(evolve(event, customer_id=keep.id))
    return Plan(batch, [], merged)


#: The planner of every action that is planned and committed in one step.
PLANNERS: dict[type[rq.Command], Callable[[PlanContext, Any], Plan]] = {
    rq.Reply: plan_reply,
    rq.AddNote: plan_note,
    rq.SetStatus: plan_status,
    rq.Assign: plan_assign,
    rq.Transfer: plan_transfer,
    rq.SetPriority: plan_priority,
    rq.SetTags: plan_tags,
    rq.MarkRead: plan_mark_read,
    rq.MergeCustomers: plan_merge,
}
