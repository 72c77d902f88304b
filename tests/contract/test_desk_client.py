"""The contract of a desk client: every read, every command, every error code,
the stream's resume and reset — and every answer survives the wire codec.

Runs on each harness of ``conftest.harness``; a client that passes it can
stand behind the console.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentdesk.api import DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.codec import decode, decode_request, decode_result, encode
from agentdesk.api.messages import Update
from agentdesk.domain import DeliveryState, Message, Note, Priority, Status

from .conftest import HISTORY


async def expect(code: ErrorCode, call: Any) -> DeskError:
    """``call`` is refused with ``code`` and a sentence for the agent."""
    with pytest.raises(DeskError) as caught:
        await call
    assert caught.value.code == code, caught.value
    assert caught.value.message.strip()
    return caught.value


def wire(request: rq.Request, answer: Any) -> None:
    """The request and its answer read back from their JSON as they were."""
    assert decode_request(encode(request)) == request
    assert decode_result(request, encode(answer)) == answer


# --- reads ------------------------------------------------------------------------


async def test_snapshot_holds_open_and_pending_tasks_and_the_channels(harness):
    client = await harness.client()
    first = await harness.write_in("a@b.co", "where is my parcel")
    second = await harness.write_in("c@d.co", "refund please")
    await client.set_status(second.id, Status.CLOSED)
    snapshot = await client.snapshot()
    assert [t.id for t in snapshot.tasks] == [first.id]
    assert {c.name for c in snapshot.channels} == {"mail", "chat", "sms", "phone"}
    assert snapshot.seq > 0
    wire(rq.GetSnapshot(), snapshot)


async def test_tasks_threads_customers_and_timelines(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "first", customer_name="Ana García")
    await client.note(task.id, "checked the order")
    got = await client.get_task(task.id)
    assert got == await client.task_by_number(task.number)
    assert await client.get_task("no-such-task") is None
    assert await client.task_by_number(999_999) is None
    thread = await client.thread(task.id)
    assert [type(e) for e in thread] == [Message, Note]
    customer = await client.customer(task.customer_id)
    assert customer is not None and customer.display_name == "Ana García"
    assert await client.customer("nobody") is None
    await client.set_status(task.id, Status.CLOSED)
    harness.clock.advance(30 * 86400)  # past the reopen window: a second task
    later = await harness.write_in("a@b.co", "me again")
    timeline = await client.timeline(task.customer_id)
    assert [entry.task.id for entry in timeline] == [later.id, task.id]  # newest first
    for request, answer in [
        (rq.GetTask(task_id=task.id), got),
        (rq.GetTask(task_id="none"), None),
        (rq.GetThread(task_id=task.id), thread),
        (rq.GetCustomer(customer_id=task.customer_id), customer),
        (rq.GetTimeline(customer_id=task.customer_id), timeline),
        (rq.ListChannels(), await client.channels()),
    ]:
        wire(request, answer)


async def test_search_pages_and_refuses_a_query_it_cannot_read(harness):
    client = await harness.client()
    for n in range(3):
        await harness.write_in(f"c{n}@d.co", f"refund for order {n}")
    await harness.write_in("z@d.co", "thank you")
    page = await client.search("refund", limit=2)
    assert page.total == 3 and len(page.hits) == 2 and page.next_offset == 2
    rest = await client.search("refund", limit=2, offset=2)
    assert len(rest.hits) == 1 and rest.next_offset is None
    wire(rq.Search(query="refund", limit=2), page)
    error = await expect(ErrorCode.INVALID, client.search('"unbalanced'))
    assert "quote" in error.message


# --- commands ----------------------------------------------------------------------


async def test_reply_is_queued_and_refusals_say_why(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "hello")
    reply = await client.reply(task.id, "  On it!  ")
    assert isinstance(reply, Message) and reply.text == "On it!"
    assert reply.delivery == DeliveryState.QUEUED and reply.actor == "ana"
    wire(rq.Reply(task_id=task.id, text="On it!"), reply)
    await expect(ErrorCode.INVALID, client.reply(task.id, "   "))
    await expect(ErrorCode.NOT_FOUND, client.reply("no-such-task", "hello"))
    sms = await harness.write_in("+33612345678", "hi", channel="sms")
    await expect(ErrorCode.INVALID, client.reply(sms.id, "x" * 481))
    call = await harness.write_in("+33698765432", "voicemail", channel="phone")
    await expect(ErrorCode.CHANNEL_UNAVAILABLE, client.reply(call.id, "call me back"))


async def test_notes_status_and_snooze(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "hello")
    note = await client.note(task.id, "VIP customer")
    assert isinstance(note, Note) and note.text == "VIP customer"
    await expect(ErrorCode.INVALID, client.note(task.id, ""))
    now = harness.clock()
    await expect(
        ErrorCode.INVALID, client.set_status(task.id, Status.PENDING, pending_until=now - 1)
    )
    snoozed = await client.set_status(task.id, Status.PENDING, pending_until=now + 3600)
    assert snoozed.status == Status.PENDING and snoozed.pending_until == now + 3600
    wire(rq.SetStatus(task_id=task.id, status=Status.PENDING, pending_until=now + 3600), snoozed)
    closed = await client.set_status(task.id, Status.CLOSED)
    assert closed.status == Status.CLOSED and closed.closed_at == now
    await expect(ErrorCode.INVALID, client.set_status(task.id, Status.PENDING))


async def test_assign_transfer_priority_tags_and_read(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "hello")
    assigned = await client.assign(task.id, "bob")
    assert assigned.assignee == "bob"
    await expect(ErrorCode.INVALID, client.assign(task.id, "bob"))
    await expect(ErrorCode.INVALID, client.transfer(task.id))
    moved = await client.transfer(task.id, team="billing", note="invoice question")
    assert moved.team == "billing" and moved.assignee is None
    kept = await client.transfer(task.id, assignee="carla")
    assert kept.team == "billing" and kept.assignee == "carla"  # the team stays
    urgent = await client.set_priority(task.id, Priority.URGENT)
    assert urgent.priority == Priority.URGENT
    await expect(ErrorCode.INVALID, client.set_priority(task.id, "whenever"))  # type: ignore[arg-type]
    tagged = await client.set_tags(task.id, ["Refund Request", "vip", "vip", " "])
    assert tagged.tags == ["refund-request", "vip"]
    wire(rq.SetTags(task_id=task.id, tags=["vip"]), tagged)
    assert (await client.get_task(task.id)).unread
    await client.mark_read(task.id)
    assert not (await client.get_task(task.id)).unread
    await client.typing(task.id, True)  # best effort: no channel shows it here, no error


async def test_handoff_moves_the_conversation_or_says_why_not(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "call me?")
    other = await harness.write_in("+33611111111", "hi", channel="sms")
    await expect(ErrorCode.NOT_FOUND, client.handoff(task.id, to_channel="fax", to_identity="1"))
    await expect(
        ErrorCode.INVALID, client.handoff(task.id, to_channel="mail", to_identity="a@b.co")
    )
    await expect(
        ErrorCode.CONFLICT,
        client.handoff(task.id, to_channel="sms", to_identity="+33611111111"),
    )
    assert other.customer_id != task.customer_id
    moved = await client.handoff(
        task.id, to_channel="sms", to_identity="+33622222222", message="Texting you now"
    )
    assert moved.channel == "sms"
    last = (await client.thread(task.id))[-1]
    assert isinstance(last, Message) and last.channel == "sms" and last.text == "Texting you now"


async def test_merge_customers(harness):
    client = await harness.client()
    one = await harness.write_in("a@b.co", "from mail", customer_name="Ana")
    two = await harness.write_in("+33633333333", "from sms", channel="sms")
    await expect(ErrorCode.INVALID, client.merge_customers(one.customer_id, one.customer_id))
    await expect(ErrorCode.NOT_FOUND, client.merge_customers(one.customer_id, "nobody"))
    merged = await client.merge_customers(one.customer_id, two.customer_id)
    assert {i.kind for i in merged.identities} == {"email", "phone"}
    assert (await client.get_task(two.id)).customer_id == one.customer_id
    await expect(ErrorCode.CONFLICT, client.merge_customers(one.customer_id, two.customer_id))


# --- who may do what -----------------------------------------------------------------


async def test_an_agent_acts_on_their_teams_tasks_and_their_own(harness):
    lead = await harness.client("lea", Role.LEAD)
    task = await harness.write_in("a@b.co", "invoice wrong")
    await lead.transfer(task.id, team="billing")
    outsider = await harness.client("sam", Role.AGENT, teams=("sales",))
    error = await expect(ErrorCode.FORBIDDEN, outsider.reply(task.id, "hello"))
    assert "billing" in error.message
    await expect(ErrorCode.FORBIDDEN, outsider.set_status(task.id, Status.CLOSED))
    member = await harness.client("bea", Role.AGENT, teams=("billing",))
    assert (await member.reply(task.id, "Looking into it")).actor == "bea"
    await lead.transfer(task.id, assignee="sam")
    assert (await outsider.note(task.id, "mine now")).actor == "sam"
    assert await outsider.get_task(task.id) is not None  # reading is open to the desk


# --- the stream -------------------------------------------------------------------------


async def _until(client: Any, since: int, done: Any) -> list[Update]:
    seen: list[Update] = []

    async def follow() -> None:
        async for update in client.subscribe(since):
            seen.append(update)
            if done(update):
                return

    await asyncio.wait_for(follow(), 5)
    return seen


async def test_the_stream_resumes_after_a_seq_and_notices_reach_their_agent(harness):
    ana, bob = await harness.client("ana"), await harness.client("bob")
    task = await harness.write_in("a@b.co", "hello")
    since = (await ana.snapshot()).seq
    await ana.assign(task.id, "bob")
    marker = await ana.note(task.id, "marker")

    def has_marker(update: Update) -> bool:
        return any(e.id == marker.id for e in update.events)

    for client, told in ((bob, True), (ana, False)):
        updates = await _until(client, since, has_marker)
        assert all(u.seq > since for u in updates if u.changes_data)
        assert [t.assignee for u in updates for t in u.tasks][:1] == ["bob"]
        notices = [n for u in updates for n in u.notices]
        assert any("assigned to you by ana" in n for n in notices) is told
        for update in updates:
            assert decode(encode(update), Update) == update


async def test_a_subscriber_too_far_behind_is_told_to_reload(harness):
    client = await harness.client()
    task = await harness.write_in("a@b.co", "hello")
    since = (await client.snapshot()).seq
    for n in range(HISTORY + 5):
        await client.note(task.id, f"note {n}")
    [update] = await _until(client, since, lambda u: True)
    assert update.reset
    snapshot = await client.snapshot()
    assert snapshot.seq >= since + HISTORY
