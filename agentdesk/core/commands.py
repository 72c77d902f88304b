"""Agent commands: reply, note, status, assignment, handoff, tags, merge.

Each command checks its input, builds one batch, and commits it through the
desk; refusals are ``DeskError`` with a sentence for the agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        self.desk.commit(batch)
        return message

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
        task = self.desk.require_task(task_id)
        status = self.desk.channel(task.channel) if task.channel else None
        gateway = self.desk.typing_gateway
        if status is None or gateway is None or not status.capabilities.typing_indicators:
            return
        try:
            recipient = self._recipient(task, task.channel, self._identity_kind(task.channel, task))
        except DeskError:
            return  # nobody to show it to
        await gateway(task.channel, recipient.split(":", 1)[-1], bool(typing))

    async def note(self, task_id: str, text: str, *, actor: str) -> Note:
        task = self.desk.require_task(task_id)
        text = clean_text(text, MAX_REPLY).strip()
        if not text:
            raise DeskError("the note is empty")
        note = Note(**self._event_base(task, actor), text=text)
        self.desk.commit(Batch(events=[note], tasks=[evolve(task, updated_at=note.at)]))
        return note

    # --- status and ownership ------------------------------------------------

    def status(
        self, task: Task, new: Status, pending_until: float | None, *, actor: str
    ) -> tuple[Batch, list[Notice]]:
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
        return Batch(tasks=[evolve(task, **changes)], events=[event]), notices

    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None, actor: str
    ) -> Task:
        task = self.desk.require_task(task_id)
        batch, notices = self.status(task, Status(status), pending_until, actor=actor)
        self.desk.commit(batch, notices)
        return batch.tasks[0]

    async def assign(self, task_id: str, assignee: str | None, *, actor: str) -> Task:
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
        self.desk.commit(Batch(tasks=[updated], events=[event]), notices)
        return updated

    async def transfer(
        self,
        task_id: str,
        *,
        assignee: str | None,
        team: str | None,
        note: str,
        actor: str,
    ) -> Task:
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
        self.desk.commit(Batch(tasks=[updated], events=[event]), notices)
        return updated

    async def set_priority(self, task_id: str, priority: Priority, *, actor: str) -> Task:
        task = self.desk.require_task(task_id)
        try:
            priority = Priority(priority)
        except ValueError:
            known = ", ".join(p.value for p in Priority)
            raise DeskError(f"unknown priority {priority!r} (one of {known})") from None
        return self._update(task, "priority", priority, actor)

    async def set_tags(self, task_id: str, tags: list[str], *, actor: str) -> Task:
        task = self.desk.require_task(task_id)
        clean = []
        for tag in tags:
            tag = one_line(clean_text(tag), 50).strip().lower().replace(" ", "-")
            if tag and tag not in clean:
                clean.append(tag)
        return self._update(task, "tags", clean, actor)

    def _update(self, task: Task, field: str, value: object, actor: str) -> Task:
        old = getattr(task, field)
        if old == value:
            return task
        event = TaskUpdate(**self._event_base(task, actor), field=field, old=old, new=value)
        updated = evolve(task, **{field: value, "updated_at": event.at})
        self.desk.commit(Batch(tasks=[updated], events=[event]))
        return updated

    async def mark_read(self, task_id: str) -> None:
        task = self.desk.require_task(task_id)
        if task.unread:
            self.desk.commit(Batch(tasks=[evolve(task, unread=False)]))

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
        task = self.desk.require_task(task_id)
        status = self.desk.channel(to_channel)
        if status is None:
            known = ", ".join(c.name for c in self.desk.channels()) or "none"
            raise DeskError(f"unknown channel {to_channel!r} (channels: {known})")
        if to_channel == task.channel:
            raise DeskError(f"{task.label} is already on {to_channel}")
        caps = status.capabilities
        if not caps.outbound:
            raise DeskError(f"channel {to_channel} cannot send messages")
        identity = parse_identity(caps.identity_kind, to_identity)
        customer = self.store.get_customer(task.customer_id)
        if customer is None:
            raise DeskError(f"{task.label}: its customer is missing")
        owner = self.store.customer_by_identity(identity)
        if owner is not None and owner.id != customer.id:
            raise DeskError(f"{identity.value} belongs to another customer ({owner.display_name})")
        batch = Batch()
        if identity not in customer.identities:
            customer = evolve(customer, identities=[*customer.identities, identity])
            batch.customers.append(customer)
        context = clean_text(message or "", MAX_REPLY).strip()
        gateway = self.desk.handoff_gateway
        if gateway is not None:
            outbound = await gateway(
                to_channel,
                HandoffContext(
                    task_id=task.id,
                    task_number=task.number,
                    customer_name=customer.display_name,
                    to=identity.value,
                    from_channel=task.channel,
                    context=context,
                    subject=task.subject,
                ),
            )
            if outbound is not None and context:
                context = clean_text(outbound.text, MAX_REPLY).strip() or context
        task = self.desk.require_task(task_id)  # the gateway awaited: read again
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
        self.desk.commit(batch)
        return updated

    # --- customers --------------------------------------------------------------

    async def merge_customers(self, keep_id: str, merge_id: str, *, actor: str) -> Customer:
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
        self.desk.commit(batch)
        return merged
