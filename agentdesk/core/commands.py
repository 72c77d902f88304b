"""Agent commands: reply, note, status, assignment, handoff, tags, merge.

Each command has a planner, run by the desk on the store's thread: it reads
the store, checks its input and returns (batch, notices, result); the desk
commits and publishes. Refusals are ``DeskError`` with a sentence for the agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    check_transition,
    identity_problem,
)
from agentdesk.domain.evolve import evolve
from agentdesk.domain.text import clean_text, one_line
from agentdesk.plugin import HandoffContext
from agentdesk.store import Batch

from .client import DeskError
from .stream import Notice

Plan = tuple[Batch, list[Notice], Any]

if TYPE_CHECKING:
    from .desk import Desk

MAX_REPLY = 100_000


def parse_identity(kind: str, text: str) -> Identity:
    """Check an identity typed by an agent; DeskError says what is wrong."""
    text = one_line(clean_text(text), 320).strip()
    problem = identity_problem(kind, text)
    if problem is not None:
        raise DeskError(problem.rstrip("."))
    return Identity.of(kind, text)


class Commands:
    """The agent's commands against one desk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @property
    def store(self):
        return self.desk.store

    def _event_base(self, task: Task, actor: str) -> dict:
        return {
            "id": self.desk.ids.new(),
            "task_id": task.id,
            "customer_id": task.customer_id,
            "at": self.desk.clock(),
            "actor": actor,
        }

    # --- messages ---------------------------------------------------------

    def _recipient(self, task: Task, channel: str, kind: str) -> str:
        """The identity to write to on ``channel``: the last one the customer used there."""
        for event in reversed(self.store.events_of_task(task.id)):
            if isinstance(event, Message) and event.channel == channel and event.identity:
                return event.identity
        customer = self.store.get_customer(task.customer_id)
        identity = customer.identity(kind) if customer else None
        if identity is None:
            raise DeskError(
                f"{task.label}: the customer has no {kind} identity to write to on {channel}"
            )
        return str(identity)

    def _queue_message(
        self, batch: Batch, task: Task, text: str, actor: str, channel: str, recipient: str
    ) -> Message:
        caps = self.desk.capabilities(channel) if self.desk.channel(channel) else None
        if caps is not None and not caps.outbound:
            raise DeskError(f"channel {channel} cannot send messages")
        if caps is not None and caps.max_text_length and len(text) > caps.max_text_length:
            limit = caps.max_text_length
            raise DeskError(f"the reply is {len(text)} characters; {channel} takes at most {limit}")
        message = Message(
            **self._event_base(task, actor),
            direction=Direction.OUTBOUND,
            channel=channel,
            channel_kind=caps.kind if caps else task.channel_kind,
            text=text,
            identity=recipient,
            delivery=DeliveryState.QUEUED,
        )
        message.idempotency_key = message.id
        batch.events.append(message)
        batch.outbox_put.append(
            OutboxEntry(key=message.id, event_id=message.id, task_id=task.id, channel=channel)
        )
        return message

    async def reply(self, task_id: str, text: str, *, actor: str) -> Message:
        return await self.desk.execute(self._reply, task_id, text, actor)

    def _reply(self, task_id: str, text: str, actor: str) -> Plan:
        task = self.desk.require_task(task_id)
        text = clean_text(text, MAX_REPLY).strip()
        if not text:
            raise DeskError("the reply is empty")
        if not task.channel:
            raise DeskError(f"{task.label} has no channel to reply on")
        kind = self._identity_kind(task.channel, task)
        batch = Batch()
        message = self._queue_message(
            batch, task, text, actor, task.channel, self._recipient(task, task.channel, kind)
        )
        now = message.at
        batch.tasks.append(
            evolve(
                task,
                updated_at=now,
                first_response_at=task.first_response_at or now,
                waiting_since=None,
                unread=False,
                preview=one_line(text, 200),
            )
        )
        return batch, [], message

    def _identity_kind(self, channel: str, task: Task) -> str:
        status = self.desk.channel(channel)
        if status is not None:
            return status.capabilities.identity_kind
        return {"sms": "phone", "phone": "phone", "chat": "chat", "social": "social"}.get(
            task.channel_kind, "email"
        )

    async def typing(self, task_id: str, typing: bool) -> None:
        """Show the customer that an agent is writing a reply (or stopped), on
        a running channel that can show it; otherwise nothing happens."""
        gateway = self.desk.typing_gateway
        if gateway is None:
            return
        found = await self.desk.read(self._typing_target, task_id)
        if found is not None:
            await gateway(found[0], found[1], bool(typing))

    def _typing_target(self, task_id: str) -> tuple[str, str] | None:
        """(channel, recipient) to show typing to, if the task's channel can."""
        task = self.desk.require_task(task_id)
        status = self.desk.channel(task.channel) if task.channel else None
        if status is None or not status.capabilities.typing_indicators:
            return None
        try:
            recipient = self._recipient(task, task.channel, self._identity_kind(task.channel, task))
        except DeskError:
            return None  # nobody to show it to
        return task.channel, recipient.split(":", 1)[-1]

    async def note(self, task_id: str, text: str, *, actor: str) -> Note:
        return await self.desk.execute(self._note, task_id, text, actor)

    def _note(self, task_id: str, text: str, actor: str) -> Plan:
        task = self.desk.require_task(task_id)
        text = clean_text(text, MAX_REPLY).strip()
        if not text:
            raise DeskError("the note is empty")
        note = Note(**self._event_base(task, actor), text=text)
        return Batch(events=[note], tasks=[evolve(task, updated_at=note.at)]), [], note

    # --- status and ownership ------------------------------------------------

    def plan_status(
        self, task_id: str, new: Status, pending_until: float | None, actor: str
    ) -> Plan:
        task = self.desk.require_task(task_id)
        if actor == "system" and (
            task.pending_until is None or task.pending_until > self.desk.clock()
        ):
            raise DeskError(f"{task.label} is not due to wake")
        try:
            check_transition(task.number, task.status, new)
        except IllegalTransition as exc:
            raise DeskError(str(exc)) from None
        now = self.desk.clock()
        if new == Status.PENDING and pending_until is not None and pending_until <= now:
            raise DeskError("the snooze time is in the past")
        changes: dict = {"status": new, "updated_at": now, "pending_until": None}
        if new == Status.CLOSED:
            changes.update(closed_at=now, waiting_since=None, unread=False)
        elif new == Status.PENDING:
            changes.update(pending_until=pending_until)
        else:
            changes.update(closed_at=None)
        event = StatusChange(
            **self._event_base(task, actor),
            old=task.status,
            new=new,
            pending_until=pending_until,
        )
        notices = []
        if actor == "system" and task.assignee:
            notices.append(Notice(f"{task.label} is back from snooze", task.assignee))
        updated = evolve(task, **changes)
        return Batch(tasks=[updated], events=[event]), notices, updated

    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None, actor: str
    ) -> Task:
        return await self.desk.execute(
            self.plan_status, task_id, Status(status), pending_until, actor
        )

    async def assign(self, task_id: str, assignee: str | None, *, actor: str) -> Task:
        return await self.desk.execute(self._assign, task_id, assignee, actor)

    def _assign(self, task_id: str, assignee: str | None, actor: str) -> Plan:
        task = self.desk.require_task(task_id)
        assignee = one_line(clean_text(assignee or ""), 100) or None
        if assignee == task.assignee:
            who = assignee or "nobody"
            raise DeskError(f"{task.label} is already assigned to {who}")
        event = Assignment(
            **self._event_base(task, actor), old_assignee=task.assignee, new_assignee=assignee
        )
        updated = evolve(task, assignee=assignee, updated_at=event.at)
        notices = []
        if assignee and assignee != actor:
            notices.append(Notice(f"{task.label} was assigned to you by {actor}", assignee))
        return Batch(tasks=[updated], events=[event]), notices, updated

    async def transfer(
        self,
        task_id: str,
        *,
        assignee: str | None,
        team: str | None,
        note: str,
        actor: str,
    ) -> Task:
        return await self.desk.execute(self._transfer, task_id, assignee, team, note, actor)

    def _transfer(
        self, task_id: str, assignee: str | None, team: str | None, note: str, actor: str
    ) -> Plan:
        task = self.desk.require_task(task_id)
        assignee = one_line(clean_text(assignee or ""), 100) or None
        team = one_line(clean_text(team or ""), 100) or None
        if assignee is None and team is None:
            raise DeskError("transfer to whom? give an agent or a team")
        event = Transfer(
            **self._event_base(task, actor),
            old_assignee=task.assignee,
            new_assignee=assignee,
            old_team=task.team,
            new_team=team or task.team,
            note=clean_text(note or "", 5000),
        )
        updated = evolve(task, assignee=assignee, team=team or task.team, updated_at=event.at)
        notices = []
        if assignee and assignee != actor:
            text = f"{task.label} was transferred to you by {actor}"
            notices.append(Notice(text + (f": {event.note}" if event.note else ""), assignee))
        return Batch(tasks=[updated], events=[event]), notices, updated

    async def set_priority(self, task_id: str, priority: Priority, *, actor: str) -> Task:
        try:
            priority = Priority(priority)
        except ValueError:
            known = ", ".join(p.value for p in Priority)
            raise DeskError(f"unknown priority {priority!r} (one of {known})") from None
        return await self.desk.execute(self._update, task_id, "priority", priority, actor)

    async def set_tags(self, task_id: str, tags: list[str], *, actor: str) -> Task:
        clean = []
        for tag in tags:
            tag = one_line(clean_text(tag), 50).strip().lower().replace(" ", "-")
            if tag and tag not in clean:
                clean.append(tag)
        return await self.desk.execute(self._update, task_id, "tags", clean, actor)

    def _update(self, task_id: str, field: str, value: object, actor: str) -> Plan:
        task = self.desk.require_task(task_id)
        old = getattr(task, field)
        if old == value:
            return Batch(), [], task
        event = TaskUpdate(**self._event_base(task, actor), field=field, old=old, new=value)
        updated = evolve(task, **{field: value, "updated_at": event.at})
        return Batch(tasks=[updated], events=[event]), [], updated

    async def mark_read(self, task_id: str) -> None:
        await self.desk.execute(self._mark_read, task_id)

    def _mark_read(self, task_id: str) -> Plan:
        task = self.desk.require_task(task_id)
        if not task.unread:
            return Batch(), [], None
        return Batch(tasks=[evolve(task, unread=False)]), [], None

    # --- handoff ----------------------------------------------------------------

    async def handoff(
        self,
        task_id: str,
        *,
        to_channel: str,
        to_identity: str,
        message: str | None,
        actor: str,
    ) -> Task:
        identity, handoff = await self.desk.read(
            self._handoff_context, task_id, to_channel, to_identity, message
        )
        context = handoff.context
        gateway = self.desk.handoff_gateway
        if gateway is not None:
            outbound = await gateway(to_channel, handoff)
            if outbound is not None and context:
                context = clean_text(outbound.text, MAX_REPLY).strip() or context
        # The gateway awaited: the task is read again as it is now.
        return await self.desk.execute(self._handoff, task_id, to_channel, identity, context, actor)

    def _handoff_context(
        self, task_id: str, to_channel: str, to_identity: str, message: str | None
    ) -> tuple[Identity, HandoffContext]:
        task = self.desk.require_task(task_id)
        caps = self._handoff_target(task, to_channel)
        identity = parse_identity(caps.identity_kind, to_identity)
        customer = self._handoff_customer(task, identity)
        return identity, HandoffContext(
            task_id=task.id,
            task_number=task.number,
            customer_name=customer.display_name,
            to=identity.value,
            from_channel=task.channel,
            context=clean_text(message or "", MAX_REPLY).strip(),
            subject=task.subject,
        )

    def _handoff_target(self, task: Task, to_channel: str) -> Any:
        status = self.desk.channel(to_channel)
        if status is None:
            known = ", ".join(c.name for c in self.desk.channels()) or "none"
            raise DeskError(f"unknown channel {to_channel!r} (channels: {known})")
        if to_channel == task.channel:
            raise DeskError(f"{task.label} is already on {to_channel}")
        if not status.capabilities.outbound:
            raise DeskError(f"channel {to_channel} cannot send messages")
        return status.capabilities

    def _handoff_customer(self, task: Task, identity: Identity) -> Customer:
        customer = self.store.get_customer(task.customer_id)
        if customer is None:
            raise DeskError(f"{task.label}: its customer is missing")
        owner = self.store.customer_by_identity(identity)
        if owner is not None and owner.id != customer.id:
            raise DeskError(f"{identity.value} belongs to another customer ({owner.display_name})")
        return customer

    def _handoff(
        self, task_id: str, to_channel: str, identity: Identity, context: str, actor: str
    ) -> Plan:
        task = self.desk.require_task(task_id)
        caps = self._handoff_target(task, to_channel)
        customer = self._handoff_customer(task, identity)
        batch = Batch()
        if identity not in customer.identities:
            batch.customers.append(evolve(customer, identities=[*customer.identities, identity]))
        event = Handoff(
            **self._event_base(task, actor),
            from_channel=task.channel,
            to_channel=to_channel,
            to_identity=str(identity),
            context=context,
        )
        batch.events.append(event)
        updated = evolve(task, channel=to_channel, channel_kind=caps.kind, updated_at=event.at)
        if context:
            self._queue_message(batch, updated, context, actor, to_channel, str(identity))
            updated = evolve(updated, waiting_since=None, preview=one_line(context, 200))
        batch.tasks.append(updated)
        return batch, [], updated

    # --- customers --------------------------------------------------------------

    async def merge_customers(self, keep_id: str, merge_id: str, *, actor: str) -> Customer:
        return await self.desk.execute(self._merge, keep_id, merge_id)

    def _merge(self, keep_id: str, merge_id: str) -> Plan:
        if keep_id == merge_id:
            raise DeskError("cannot merge a customer into itself")
        keep = self.store.get_customer(keep_id)
        gone = self.store.get_customer(merge_id)
        if keep is None or gone is None:
            raise DeskError("both customers must exist to merge them")
        if keep.merged_into or gone.merged_into:
            raise DeskError("one of these customers was already merged")
        merged = evolve(
            keep,
            name=keep.name or gone.name,
            identities=[
                *keep.identities,
                *(i for i in gone.identities if i not in keep.identities),
            ],
            attributes={**gone.attributes, **keep.attributes},
            tags=[*keep.tags, *(t for t in gone.tags if t not in keep.tags)],
        )
        batch = Batch(customers=[evolve(gone, identities=[], merged_into=keep.id), merged])
        for task in self.store.tasks_of_customer(gone.id):
            batch.tasks.append(evolve(task, customer_id=keep.id, customer_name=merged.display_name))
            for event in self.store.events_of_task(task.id):
                batch.events.append(evolve(event, customer_id=keep.id))
        return batch, [], merged
