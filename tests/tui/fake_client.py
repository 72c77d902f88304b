"""A small desk client over plain lists of domain objects, for UI-only tests.

It honours the DeskClient protocol closely enough for the console: commands
change the objects and publish an Update, replies to a channel that is down
stay queued. Times come from a fixed clock so screens are reproducible.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agentdesk.api import ChannelStatus, DeskError, Snapshot, TimelineEntry, Update
from agentdesk.domain import (
    Assignment,
    Customer,
    DeliveryState,
    Direction,
    Event,
    Handoff,
    Identity,
    Message,
    Note,
    Priority,
    Status,
    StatusChange,
    Task,
    TaskUpdate,
    Transfer,
    check_transition,
)
from agentdesk.domain.evolve import evolve as replace
from agentdesk.plugin import Capabilities, HealthState
from agentdesk.search import SearchHit, SearchPage

NOW = 1_767_348_000.0  # 2026-01-02 10:00:00 UTC

CAPS = {
    "email": Capabilities(kind="email", identity_kind="email", threading=True, attachments=True),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True, typing_indicators=True),
    "sms": Capabilities(kind="sms", identity_kind="phone", max_text_length=480, segment_length=160),
    "social": Capabilities(kind="social", identity_kind="social", max_text_length=280),
    "phone": Capabilities(kind="phone", identity_kind="phone", realtime=True),
}


@dataclass
class FakeDesk:
    """The data behind the fake client; tests reach in to arrange and inspect."""

    customers: dict[str, Customer] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    channels: dict[str, ChannelStatus] = field(default_factory=dict)
    clock: float = NOW
    seq: int = 0
    queues: list[asyncio.Queue[Update]] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):06d}"

    def publish(self, update: Update) -> None:
        if update.tasks or update.events or update.customers:
            self.seq += 1
        update.seq = self.seq
        for queue in self.queues:
            queue.put_nowait(update)

    def add_channel(self, name: str, kind: str, state: HealthState = HealthState.UP) -> None:
        self.channels[name] = ChannelStatus(
            name=name, plugin=f"agentdesk_{kind}", capabilities=CAPS[kind], state=state
        )

    def set_channel_state(self, name: str, state: HealthState, detail: str = "") -> None:
        self.channels[name] = replace(self.channels[name], state=state, detail=detail)
        self.publish(Update(seq=0, channels=[self.channels[name]]))

    def add_customer(self, name: str, *identities: tuple[str, str], **attributes: str) -> Customer:
        customer = Customer(
            id=self.new_id("C"),
            name=name,
            identities=[Identity.of(kind, value) for kind, value in identities],
            attributes=dict(attributes),
            created_at=self.clock - 86400 * 30,
        )
        self.customers[customer.id] = customer
        return customer

    def add_task(
        self,
        customer: Customer,
        channel: str,
        text: str,
        *,
        subject: str = "",
        age: float = 600.0,
        status: Status = Status.OPEN,
        assignee: str | None = None,
        priority: Priority = Priority.NORMAL,
        unread: bool = True,
        waiting: bool = True,
    ) -> Task:
        at = self.clock - age
        number = 1000 + len(self.tasks) + 1
        kind = self.channels[channel].kind
        task = Task(
            id=self.new_id("T"),
            number=number,
            customer_id=customer.id,
            customer_name=customer.display_name,
            status=status,
            channel=channel,
            channel_kind=kind,
            subject=subject,
            preview=text[:200],
            priority=priority,
            assignee=assignee,
            created_at=at,
            updated_at=at,
            waiting_since=at if waiting and status == Status.OPEN else None,
            last_inbound_at=at,
            unread=unread,
            closed_at=at if status == Status.CLOSED else None,
        )
        self.tasks[task.id] = task
        identity = customer.identity(CAPS[kind].identity_kind)
        self.events.append(
            Message(
                id=self.new_id("E"),
                task_id=task.id,
                customer_id=customer.id,
                at=at,
                actor="customer",
                direction=Direction.INBOUND,
                channel=channel,
                channel_kind=kind,
                text=text,
                subject=subject,
                identity=str(identity) if identity else "",
            )
        )
        return task

    def add_event(self, event: Event) -> Event:
        self.events.append(event)
        return event

    def thread(self, task_id: str) -> list[Event]:
        return sorted((e for e in self.events if e.task_id == task_id), key=lambda e: e.at)


class FakeClient:
    """A DeskClient over a FakeDesk."""

    def __init__(self, desk: FakeDesk, me: str) -> None:
        self.desk = desk
        self.me = me
        self.searches: list[str] = []
        self.closed = False

    # --- reads ----------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        live = [t for t in self.desk.tasks.values() if t.status != Status.CLOSED]
        return Snapshot(seq=self.desk.seq, tasks=live, channels=list(self.desk.channels.values()))

    async def subscribe(self, since: int) -> AsyncIterator[Update]:
        queue: asyncio.Queue[Update] = asyncio.Queue()
        self.desk.queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self.desk.queues.remove(queue)

    async def get_task(self, task_id: str) -> Task | None:
        return self.desk.tasks.get(task_id)

    async def task_by_number(self, number: int) -> Task | None:
        return next((t for t in self.desk.tasks.values() if t.number == number), None)

    async def thread(self, task_id: str) -> list[Event]:
        return self.desk.thread(task_id)

    async def customer(self, customer_id: str) -> Customer | None:
        return self.desk.customers.get(customer_id)

    async def timeline(self, customer_id: str) -> list[TimelineEntry]:
        tasks = [t for t in self.desk.tasks.values() if t.customer_id == customer_id]
        tasks.sort(key=lambda t: t.created_at, reverse=True)
        return [TimelineEntry(task=t, events=self.desk.thread(t.id)) for t in tasks]

    async def search(self, query: str, *, limit: int = 50, offset: int = 0) -> SearchPage:
        self.searches.append(query)
        words = [w for w in query.lower().split() if ":" not in w]
        hits = []
        for task in sorted(self.desk.tasks.values(), key=lambda t: t.number):
            for event in self.desk.thread(task.id):
                text = getattr(event, "text", "")
                low = text.lower()
                if words and all(w in low for w in words):
                    start = low.index(words[0])
                    snippet = [
                        (text[max(0, start - 20) : start], False),
                        (text[start : start + len(words[0])], True),
                        (text[start + len(words[0]) : start + 60], False),
                    ]
                    hits.append(
                        SearchHit(
                            task_id=task.id,
                            number=task.number,
                            status=str(task.status),
                            channel=task.channel,
                            channel_kind=task.channel_kind,
                            customer_id=task.customer_id,
                            customer_name=task.customer_name,
                            subject=task.subject,
                            assignee=task.assignee,
                            last_activity=task.updated_at,
                            snippet=snippet,
                            score=1.0,
                        )
                    )
                    break
        page = hits[offset : offset + limit]
        end = offset + len(page)
        return SearchPage(page, len(hits), offset, end if end < len(hits) else None)

    async def channels(self) -> list[ChannelStatus]:
        return list(self.desk.channels.values())

    # --- commands -------------------------------------------------------------

    def _task(self, task_id: str) -> Task:
        task = self.desk.tasks.get(task_id)
        if task is None:
            raise DeskError(f"no task {task_id}")
        return task

    def _commit(self, task: Task, *events: Event, notices: list[str] | None = None) -> Task:
        self.desk.tasks[task.id] = task
        self.desk.events.extend(events)
        self.desk.publish(Update(seq=0, tasks=[task], events=list(events), notices=notices or []))
        return task

    def _event_base(self, task: Task) -> dict[str, object]:
        return {
            "id": self.desk.new_id("E"),
            "task_id": task.id,
            "customer_id": task.customer_id,
            "at": self.desk.clock,
            "actor": self.me,
        }

    async def reply(self, task_id: str, text: str) -> Event:
        task = self._task(task_id)
        if not text.strip():
            raise DeskError("a reply needs some text")
        channel = self.desk.channels[task.channel]
        customer = self.desk.customers[task.customer_id]
        identity = customer.identity(channel.capabilities.identity_kind)
        message = Message(
            **self._event_base(task),
            direction=Direction.OUTBOUND,
            channel=task.channel,
            channel_kind=task.channel_kind,
            text=text,
            identity=str(identity) if identity else "",
            delivery=DeliveryState.SENT
            if channel.state == HealthState.UP
            else DeliveryState.QUEUED,
        )
        updated = replace(
            task,
            waiting_since=None,
            updated_at=self.desk.clock,
            first_response_at=task.first_response_at or self.desk.clock,
            preview=text[:200],
        )
        self._commit(updated, message)
        return message

    async def note(self, task_id: str, text: str) -> Event:
        task = self._task(task_id)
        note = Note(**self._event_base(task), text=text)
        self._commit(replace(task, updated_at=self.desk.clock), note)
        return note

    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None = None
    ) -> Task:
        task = self._task(task_id)
        try:
            check_transition(task.number, task.status, status)
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        event = StatusChange(
            **self._event_base(task), old=task.status, new=status, pending_until=pending_until
        )
        updated = replace(
            task,
            status=status,
            pending_until=pending_until,
            updated_at=self.desk.clock,
            closed_at=self.desk.clock if status == Status.CLOSED else None,
            waiting_since=None if status != Status.OPEN else task.waiting_since,
        )
        return self._commit(updated, event)

    async def assign(self, task_id: str, assignee: str | None) -> Task:
        task = self._task(task_id)
        event = Assignment(
            **self._event_base(task), old_assignee=task.assignee, new_assignee=assignee
        )
        notices = [f"task #{task.number} assigned to you"] if assignee == self.me else []
        return self._commit(replace(task, assignee=assignee), event, notices=notices)

    async def transfer(
        self, task_id: str, *, assignee: str | None = None, team: str | None = None, note: str = ""
    ) -> Task:
        task = self._task(task_id)
        event = Transfer(
            **self._event_base(task),
            old_assignee=task.assignee,
            new_assignee=assignee,
            old_team=task.team,
            new_team=team,
            note=note,
        )
        return self._commit(replace(task, assignee=assignee, team=team), event)

    async def handoff(
        self, task_id: str, *, to_channel: str, to_identity: str, message: str | None = None
    ) -> Task:
        task = self._task(task_id)
        channel = self.desk.channels.get(to_channel)
        if channel is None:
            raise DeskError(f"no channel {to_channel}")
        event = Handoff(
            **self._event_base(task),
            from_channel=task.channel,
            to_channel=to_channel,
            to_identity=to_identity,
            context=message or "",
        )
        updated = replace(task, channel=to_channel, channel_kind=channel.kind)
        self._commit(updated, event)
        if message:
            await self.reply(task_id, message)
        return self.desk.tasks[task_id]

    async def set_priority(self, task_id: str, priority: Priority) -> Task:
        task = self._task(task_id)
        event = TaskUpdate(
            **self._event_base(task), field="priority", old=task.priority, new=priority
        )
        return self._commit(replace(task, priority=priority), event)

    async def set_tags(self, task_id: str, tags: list[str]) -> Task:
        task = self._task(task_id)
        event = TaskUpdate(**self._event_base(task), field="tags", old=task.tags, new=tags)
        return self._commit(replace(task, tags=list(tags)), event)

    async def mark_read(self, task_id: str) -> None:
        task = self._task(task_id)
        if task.unread:
            self._commit(replace(task, unread=False))

    async def merge_customers(self, keep_id: str, merge_id: str) -> Customer:
        raise DeskError("merging is not part of these tests")

    async def close(self) -> None:
        self.closed = True


class FakeConnector:
    def __init__(self, desk: FakeDesk, me: str = "ana") -> None:
        self.client = FakeClient(desk, me)
        self.opened = False
        self.closed = False

    async def open(self) -> FakeClient:
        self.opened = True
        return self.client

    async def close(self) -> None:
        self.closed = True
        await self.client.close()


def sample_desk() -> FakeDesk:
    """A small, fixed desk: five channels, a handful of customers and tasks."""
    desk = FakeDesk()
    desk.add_channel("email", "email")
    desk.add_channel("chat", "chat")
    desk.add_channel("sms", "sms")
    desk.add_channel("social", "social")
    desk.add_channel("phone", "phone")
    ana = desk.add_customer(
        "Ana García",
        ("email", "ana@example.com"),
        ("phone", "+34 600 111 222"),
        ("chat", "sess-ana"),
        plan="gold",
    )
    bo = desk.add_customer("Bo Chen", ("email", "bo@example.org"), ("social", "@bochen"))
    cy = desk.add_customer("Cyrus Adeyemi", ("phone", "+44 7700 900123"))
    dee = desk.add_customer("Dee Okafor", ("chat", "sess-dee"), ("email", "dee@example.net"))
    t1 = desk.add_task(
        ana,
        "chat",
        "Hi, my order #4411 arrived broken. Can I get a refund?",
        subject="Broken order",
        age=3 * 3600,
        priority=Priority.HIGH,
    )
    desk.add_event(
        Handoff(
            id=desk.new_id("E"),
            task_id=t1.id,
            customer_id=ana.id,
            at=desk.clock - 2 * 3600,
            actor="ana",
            from_channel="chat",
            to_channel="email",
            to_identity="email:ana@example.com",
            context="Moving to email to send the label",
        )
    )
    desk.tasks[t1.id] = replace(t1, channel="email", channel_kind="email")
    desk.add_task(bo, "social", "@acme your app keeps logging me out", age=25 * 60, assignee="ana")
    desk.add_task(cy, "sms", "Is the store open on Sunday?", age=4 * 60, priority=Priority.LOW)
    desk.add_task(
        dee,
        "chat",
        "Can I change the delivery address?",
        age=50 * 60,
        assignee="ben",
        status=Status.PENDING,
        waiting=False,
        unread=False,
    )
    desk.add_task(
        ana,
        "email",
        "Thanks, the label worked.",
        subject="Return label",
        age=9 * 86400,
        status=Status.CLOSED,
        unread=False,
        waiting=False,
    )
    desk.add_task(
        bo,
        "email",
        "Invoice for March is missing the VAT number.",
        subject="Invoice VAT",
        age=70 * 60,
        priority=Priority.URGENT,
    )
    return desk
