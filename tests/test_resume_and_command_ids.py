"""What a reconnecting console relies on: the stream resumes without a gap or
says to reload, and a command id is applied once, for its own agent only."""

from __future__ import annotations

import pytest

from agentdesk.api import Actor, ChannelStatus, DeskError, ErrorCode, Role, Update
from agentdesk.api import requests as rq
from agentdesk.core.desk import Desk
from agentdesk.core.desk.stream import UpdateBus
from agentdesk.domain import Customer
from agentdesk.plugin import Capabilities, InboundMessage
from agentdesk.store.memory import MemoryStore

MAIL = Capabilities(kind="email", identity_kind="email")
ANA = Actor(agent="ana", role=Role.AGENT)
BOB = Actor(agent="bob", role=Role.AGENT)


async def first(stream):
    async for published in stream:
        return published.update
    raise AssertionError("the stream ended")


async def test_a_resume_from_before_an_evicted_change_resets_though_states_followed_it():
    bus = UpdateBus(history=2)
    bus.publish(Update(seq=1, notices=["x"], tasks=[]))  # a state at seq 1
    bus.publish(Update(seq=2, tasks=[], events=[], customers=[], typing={"t": True}))
    # A data change at 3, then two states repeating seq 3: the change falls out.
    bus.publish(Update(seq=3, customers=[Customer(id="c", name="C")]))
    bus.publish(Update(seq=3, typing={"t": False}))
    bus.publish(Update(seq=3, typing={"t": True}))
    update = await first(bus.subscribe(2))
    assert update.reset, "the change at seq 3 is gone: the subscriber must reload"


async def test_states_at_the_resumed_seq_are_replayed_but_not_notices():
    bus = UpdateBus()
    bus.publish(Update(seq=5, typing={"t": True}))
    bus.publish(Update(seq=5, notices=["said once"]))
    bus.publish(Update(seq=6, typing={"t": False}))
    stream = bus.subscribe(5)
    seen = [await anext(stream), await anext(stream)]
    assert [u.update.typing for u in seen] == [{"t": True}, {"t": False}]
    await stream.aclose()


def with_mail(desk: Desk) -> Desk:
    desk.register_channel(ChannelStatus(name="mail", plugin="test", capabilities=MAIL))
    return desk


async def test_a_desk_opened_on_a_store_with_history_resets_older_resumes(clock):
    store = MemoryStore()
    first_desk = with_mail(Desk(store, clock=clock))
    await first_desk.ingest("mail", InboundMessage("a@b.co", "hello"))
    seq = store.seq
    first_desk.close()
    # The hub restarted: its bus remembers nothing of what came before.
    desk = with_mail(Desk(store, clock=clock))
    try:
        assert (await first(desk.subscribe(ANA, seq - 1))).reset
        stream = desk.subscribe(ANA, seq)
        task = await desk.ingest("mail", InboundMessage("c@d.co", "another"))
        async for published in stream:  # the channel's state comes first
            update = published.update
            assert not update.reset
            if update.changes_data:
                break
        assert task.task.id in {t.id for t in update.tasks}
    finally:
        desk.close()


async def test_a_command_id_is_applied_once_and_answered_again(desk):
    task = (await desk.ingest("mail", InboundMessage("a@b.co", "hello"))).task
    note = rq.AddNote(task_id=task.id, text="once")
    made = await desk.handle(ANA, note, command_id="c1")
    again = await desk.handle(ANA, note, command_id="c1")
    assert again.id == made.id
    notes = [e for e in desk.store.events_of_task(task.id) if getattr(e, "text", "") == "once"]
    assert len(notes) == 1


async def test_a_command_id_of_another_agent_or_command_is_refused_not_answered(desk):
    task = (await desk.ingest("mail", InboundMessage("a@b.co", "hello"))).task
    await desk.handle(ANA, rq.AddNote(task_id=task.id, text="ana's"), command_id="same")
    with pytest.raises(DeskError) as refused:
        await desk.handle(BOB, rq.AddNote(task_id=task.id, text="bob's"), command_id="same")
    assert refused.value.code == ErrorCode.CONFLICT
    with pytest.raises(DeskError):
        await desk.handle(ANA, rq.SetTags(task_id=task.id, tags=["x"]), command_id="same")
    assert desk.store.get_task(task.id).tags == []
