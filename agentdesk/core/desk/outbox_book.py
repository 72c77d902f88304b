"""Outbox bookkeeping: what to send for a queued reply, and recording the outcome.

The channel host asks for the ``Outbound`` of each due entry, sends it, and
reports back; these planners turn the report (or a channel's late receipt)
into a plan, as pure functions of a ``PlanContext``.
"""

from __future__ import annotations

from agentdesk.api import DeskError, ErrorCode
from agentdesk.domain import DeliveryState, Direction, Event, Message, OutboxEntry, Task
from agentdesk.domain.evolve import evolve
from agentdesk.domain.text import clean_text, one_line
from agentdesk.plugin import Delivery, DeliveryReceipt, Outbound, SurveyQuestion
from agentdesk.store import Batch

from .context import Plan, PlanContext, address
from .stream import Notice

RETRY_AFTER_SECONDS = 30.0

# How far a reply has got; a receipt only ever moves it forward.
_PROGRESS = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.DELIVERED: 2,
    DeliveryState.READ: 3,
}
_RECEIPTS = {"delivered": DeliveryState.DELIVERED, "read": DeliveryState.READ}


def _outbound_message(ctx: PlanContext, entry: OutboxEntry) -> tuple[Message, Task]:
    event = ctx.store.get_event(entry.event_id)
    task = ctx.store.get_task(entry.task_id)
    if not isinstance(event, Message) or task is None:
        raise DeskError(f"outbox entry {entry.key} refers to a missing message", ErrorCode.INTERNAL)
    return event, task


def plan_receipt(ctx: PlanContext, channel: str, receipt: DeliveryReceipt) -> Plan:
    """The change a channel's late receipt makes to the reply it names:
    nothing for an unknown reply, another channel's, a failed one, or a
    step back. A receipt may overtake ``send``'s own answer (a customer
    reading a chat reply at once): the reply then moves on while still in
    the outbox, and ``delivered`` keeps that state."""
    state = _RECEIPTS.get(receipt.state) if isinstance(receipt.state, str) else None
    event = ctx.store.get_event(receipt.key) if isinstance(receipt.key, str) else None
    if (
        state is None
        or not isinstance(event, Message)
        or event.direction != Direction.OUTBOUND
        or event.channel != channel
    ):
        return Plan(Batch(), [], None)
    now = _PROGRESS.get(event.delivery)
    if now is None or now >= _PROGRESS[state]:
        return Plan(Batch(), [], None)
    return Plan(Batch(events=[evolve(event, delivery=state, delivery_error=None)]), [], None)


def outbound_for(ctx: PlanContext, entry: OutboxEntry) -> Outbound:
    message, task = _outbound_message(ctx, entry)
    same_channel = [
        e
        for e in ctx.store.events_of_task(task.id)
        if isinstance(e, Message) and e.channel == entry.channel and e.id != message.id
    ]
    inbound = [m for m in same_channel if m.direction == Direction.INBOUND]
    last = inbound[-1] if inbound else None
    references = tuple(m.external_id for m in same_channel if m.external_id)[-20:]
    return Outbound(
        key=entry.key,
        to=address(message.identity),
        text=message.text,
        task_id=task.id,
        task_number=task.number,
        customer_name=task.customer_name,
        subject=task.subject,
        in_reply_to=last.external_id if last else None,
        thread_ref=next((m.thread_ref for m in reversed(inbound) if m.thread_ref), None),
        references=references,
        agent=message.actor,
        template=message.template,
        template_params=tuple(message.template_params),
        survey=tuple(
            SurveyQuestion(
                metric=ask.metric,
                question=ask.question,
                low=ask.low,
                high=ask.high,
                low_label=ask.low_label,
                high_label=ask.high_label,
                links=tuple(ask.links),
            )
            for ask in message.survey
        ),
    )


def plan_delivered(ctx: PlanContext, entry: OutboxEntry, delivery: Delivery) -> Plan:
    message, _ = _outbound_message(ctx, entry)
    state = DeliveryState.DELIVERED if delivery.state == "delivered" else DeliveryState.SENT
    # A receipt that overtook ``send`` (the customer read it at once) stays.
    if _PROGRESS.get(message.delivery, 0) > _PROGRESS[state]:
        state = message.delivery
    updated = evolve(
        message,
        delivery=state,
        delivery_error=None,
        external_id=delivery.external_id or message.external_id,
    )
    return Plan(Batch(events=[updated], outbox_done=[entry.key]), [], None)


def plan_failed(
    ctx: PlanContext, entry: OutboxEntry, error: str, permanent: bool, retry_at: float | None
) -> Plan:
    message, task = _outbound_message(ctx, entry)
    error = one_line(clean_text(error), 500)
    if permanent:
        updated: Event = evolve(message, delivery=DeliveryState.FAILED, delivery_error=error)
        text = f"reply on {task.label} could not be delivered: {error}"
        notices = [Notice(text, message.actor)]
        return Plan(Batch(events=[updated], outbox_done=[entry.key]), notices, None)
    retry = evolve(
        entry,
        attempts=entry.attempts + 1,
        next_attempt_at=retry_at if retry_at is not None else ctx.now + RETRY_AFTER_SECONDS,
        last_error=error,
    )
    updated = evolve(message, delivery_error=f"retrying: {error}")
    return Plan(Batch(events=[updated], outbox_put=[retry]), [], None)
