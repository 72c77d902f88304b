"""Agent commands through the in-process client, and the update stream."""

from __future__ import annotations

import asyncio

import pytest

from agentdesk.api import DeskError
from agentdesk.core.desk import LocalDeskClient
from agentdesk.domain import DeliveryState, Message, Priority, Status
from agentdesk.plugin import Delivery, DeliveryReceipt, InboundMessage


async def _task(desk, identity="a@b.co", channel="mail", text="help"):
    return (await desk.ingest(channel, InboundMessage(identity, text, external_id=None))).task


async def test_reply_is_queued_in_outbox_with_idempotency_key(desk, client):
    task = await _task(desk)
    message = await client.reply(task.id, "On it!")
    assert message.delivery == DeliveryState.QUEUED
    assert message.idempotency_key
    [entry] = desk.store.outbox()
    assert entry.key == message.idempotency_key and entry.channel == "mail"
    stored = desk.store.get_task(task.id)
    assert stored.first_response_at is not None and stored.waiting_since is None
    outbound = await desk.outbound_for(entry)
    assert outbound.to == "a@b.co" and outbound.text == "On it!"
    assert desk.outbox_wakeup.is_set()


async def test_delivery_success_and_failures(desk, client, clock):
    task = await _task(desk)
    message = await client.reply(task.id, "one")
    [entry] = desk.outbox_due(clock.now)
    await desk.delivery_failed(entry, "smtp down", permanent=False, retry_at=clock.now + 60)
    assert desk.outbox_due(clock.now) == []
    [retry] = desk.store.outbox()
    assert retry.attempts == 1 and "smtp down" in desk.store.get_event(message.id).delivery_error
    clock.advance(61)
    [entry] = desk.outbox_due(clock.now)
    await desk.delivery_succeeded(entry, Delivery(external_id="<out-1@x>"))
    sent = desk.store.get_event(message.id)
    assert sent.delivery == DeliveryState.SENT and sent.external_id == "<out-1@x>"
    assert desk.store.outbox() == []

    second = await client.reply(task.id, "two")
    [entry] = desk.outbox_due(clock.now)
    await desk.delivery_failed(entry, "mailbox does not exist", permanent=True, retry_at=None)
    failed = desk.store.get_event(second.id)
    assert failed.delivery == DeliveryState.FAILED
    assert failed.delivery_error == "mailbox does not exist"


async def test_a_late_receipt_moves_a_reply_forward_only(desk, client, clock):
    """A channel that learns later that a reply was shown or read says so with a
    DeliveryReceipt; the reply's state only ever moves forward."""
    task = await _task(desk)
    message = await client.reply(task.id, "Your parcel left today")
    [entry] = desk.outbox_due(clock.now)
    await desk.delivery_succeeded(entry, Delivery(external_id="<out-2@x>"))
    updates = client.subscribe(desk.store.seq)

    def state() -> DeliveryState:
        return desk.store.get_event(message.id).delivery

    await desk.ingest("sms", DeliveryReceipt(message.id, "read"))  # another channel's reply
    await desk.ingest("mail", DeliveryReceipt("no-such-reply", "read"))
    await desk.ingest("mail", DeliveryReceipt(message.id, "opened"))  # not a state
    assert state() == DeliveryState.SENT
    await desk.ingest_many("mail", [DeliveryReceipt(message.id, "read")])
    assert state() == DeliveryState.READ
    update = await asyncio.wait_for(anext(updates), 5)
    assert [e.delivery for e in update.events] == [DeliveryState.READ]  # the console sees it
    await desk.ingest("mail", DeliveryReceipt(message.id, "delivered"))
    assert state() == DeliveryState.READ  # never backwards
    # A receipt that overtakes send's own answer: the reply stays read.
    quick = await client.reply(task.id, "And the invoice?")
    await desk.ingest("mail", DeliveryReceipt(quick.id, "read"))
    assert desk.store.get_event(quick.id).delivery == DeliveryState.READ
    [entry] = desk.outbox_due(clock.now)
    await desk.delivery_succeeded(entry, Delivery(state="delivered"))
    assert desk.store.get_event(quick.id).delivery == DeliveryState.READ
    assert desk.store.outbox() == []


async def test_reply_limits(desk, client):
    task = await _task(desk, "+33612345678", "sms")
    with pytest.raises(DeskError, match="at most 480"):
        await client.reply(task.id, "x" * 481)
    with pytest.raises(DeskError, match="empty"):
        await client.reply(task.id, "   ")
    with pytest.raises(DeskError, match="no task"):
        await client.reply("nope", "hi")


async def test_status_transitions(desk, client, clock):
    task = await _task(desk)
    with pytest.raises(DeskError, match="already open"):
        await client.set_status(task.id, Status.OPEN)
    pending = await client.set_status(task.id, Status.PENDING, pending_until=clock.now + 3600)
    assert pending.pending_until == clock.now + 3600
    closed = await client.set_status(task.id, Status.CLOSED)
    assert closed.closed_at == clock.now
    with pytest.raises(DeskError, match="reopen it before"):
        await client.set_status(task.id, Status.PENDING)
    reopened = await client.set_status(task.id, Status.OPEN)
    assert reopened.closed_at is None


async def test_snoozed_task_wakes_up(desk, client, clock):
    task = await _task(desk)
    await client.assign(task.id, "ana")
    await client.set_status(task.id, Status.PENDING, pending_until=clock.now + 60)
    assert await desk.wake_snoozed() == 0
    clock.advance(61)
    assert await desk.wake_snoozed() == 1
    assert desk.store.get_task(task.id).status == Status.OPEN


async def test_assign_transfer_priority_tags_note(desk, client):
    task = await _task(desk)
    assigned = await client.assign(task.id, "ana")
    assert assigned.assignee == "ana"
    with pytest.raises(DeskError, match="already assigned"):
        await client.assign(task.id, "ana")
    moved = await client.transfer(task.id, team="billing", note="refund question")
    assert moved.team == "billing" and moved.assignee is None
    assert (await client.set_priority(task.id, Priority.URGENT)).priority == Priority.URGENT
    with pytest.raises(DeskError, match="unknown priority"):
        await client.set_priority(task.id, "extreme")
    assert (await client.set_tags(task.id, ["Refund", "refund", " vip "])).tags == ["refund", "vip"]
    note = await client.note(task.id, "called the warehouse")
    kinds = [e.kind for e in await client.thread(task.id)]
    assert kinds == ["message", "assignment", "transfer", "update", "update", "note"]
    assert note.text == "called the warehouse"


async def test_handoff_chat_to_email(desk, client):
    task = await _task(desk, "session-9", "chat")
    with pytest.raises(DeskError, match="not an email address"):
        await client.handoff(task.id, to_channel="mail", to_identity="not-an-address")
    with pytest.raises(DeskError, match="unknown channel"):
        await client.handoff(task.id, to_channel="fax", to_identity="x")
    moved = await client.handoff(
        task.id, to_channel="mail", to_identity="Bob@Example.com", message="As discussed in chat"
    )
    assert moved.channel == "mail" and moved.channel_kind == "email"
    customer = desk.store.get_customer(task.customer_id)
    assert "email:bob@example.com" in [str(i) for i in customer.identities]
    events = desk.store.events_of_task(task.id)
    assert [e.kind for e in events] == ["message", "handoff", "message"]
    [entry] = desk.store.outbox()
    assert (await desk.outbound_for(entry)).to == "bob@example.com"
    # The next reply goes out on the new channel, and the customer's email
    # lands on the same task.
    reply = await client.reply(task.id, "second")
    assert reply.channel == "mail"
    back = await desk.ingest("mail", InboundMessage("bob@example.com", "thanks"))
    assert back.task.id == task.id


async def test_handoff_refuses_someone_elses_identity(desk, client):
    task = await _task(desk, "session-1", "chat")
    await _task(desk, "owner@example.com", "mail")
    with pytest.raises(DeskError, match="belongs to another customer"):
        await client.handoff(task.id, to_channel="mail", to_identity="owner@example.com")


async def test_merge_customers_keeps_every_task(desk, client):
    a = await _task(desk, "a@b.co", "mail")
    b = await _task(desk, "+33611111111", "sms")
    merged = await client.merge_customers(a.customer_id, b.customer_id)
    assert {str(i) for i in merged.identities} == {"email:a@b.co", "phone:+33611111111"}
    timeline = await client.timeline(a.customer_id)
    assert {entry.task.id for entry in timeline} == {a.id, b.id}
    gone = desk.store.get_customer(b.customer_id)
    assert gone.merged_into == a.customer_id
    sms = await desk.ingest("sms", InboundMessage("+33611111111", "again"))
    assert sms.customer.id == a.customer_id


async def test_update_stream_live_and_resumable(desk, client):
    snapshot = await client.snapshot()
    received = []

    async def follow():
        async for update in client.subscribe(snapshot.seq):
            if update.tasks:
                received.append(update)
            if len(received) == 2:
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    task = await _task(desk)
    await client.assign(task.id, "ana")
    await asyncio.wait_for(follower, 2)
    assert [u.tasks[0].id for u in received] == [task.id, task.id]

    # Resume from the first update: only the second comes again.
    resumed = []
    async for update in client.subscribe(received[0].seq):
        resumed.append(update)
        break
    assert resumed[0].seq == received[1].seq


async def test_notices_reach_only_their_agent(desk):
    ana, bob = LocalDeskClient(desk, "ana"), LocalDeskClient(desk, "bob")
    task = await _task(desk)
    seq = desk.store.seq
    await ana.assign(task.id, "bob")

    await ana.note(task.id, "marker: every update before it was seen")

    async def notices(client):
        seen = []
        async for update in client.subscribe(seq):
            seen.extend(update.notices)
            if any(getattr(e, "text", "").startswith("marker") for e in update.events):
                return seen

    assert any("assigned to you" in n for n in await notices(bob))
    assert not any("assigned to you" in n for n in await notices(ana))


async def test_typing_signal_is_published_not_stored(desk, client):
    from agentdesk.plugin import TypingSignal

    task = await _task(desk, "sess-3", "chat")
    events_before = desk.store.stats().events
    seq = desk.store.seq
    got = []

    async def follow():
        async for update in client.subscribe(seq):
            if update.typing:
                got.append(update.typing)
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    assert await desk.ingest("chat", TypingSignal("sess-3")) is None
    await asyncio.wait_for(follower, 2)
    assert got == [{task.id: True}]
    assert desk.store.stats().events == events_before
    assert isinstance(desk.store.events_of_task(task.id)[0], Message)
