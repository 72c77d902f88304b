"""The lead's board: today's flow per channel and each agent's load and time,
live as batches commit, and the same numbers as a report of the same period."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from fixed_clock import Clock

from agentdesk.api import Actor, ChannelStatus, DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.domain import Status
from agentdesk.metrics import ALWAYS, GroupBy, Metric, summarize
from agentdesk.metrics.history import collect
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

# Monday 30 November 2026, 09:00 UTC.
START = datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC).timestamp()
CHANNELS = {
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True),
    "mail": Capabilities(kind="email", identity_kind="email"),
}


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def desk(clock: Clock):
    made = Desk(MemoryStore(), clock=clock)
    for name, caps in CHANNELS.items():
        made.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    for name in ("ana", "bo"):
        await made.handle(Actor.embedded("admin"), rq.AddAgent(name=name, capacity={"chat": 2}))
    yield made
    made.close()


async def board(desk: Desk):
    return await desk.handle(Actor.embedded("lead"), rq.GetBoard())


async def test_the_board_follows_the_day_as_it_happens(desk: Desk, clock: Clock) -> None:
    ana = LocalDeskClient(desk, Actor(agent="ana", role=Role.AGENT))
    desk.set_presence("ana", Presence.ONLINE)
    first = await board(desk)  # folded from the (empty) history; live from here
    assert first.channels == []
    assert first.since == START - 9 * 3600
    chat = (await desk.ingest("chat", InboundMessage("v1", "hello"))).task
    await desk.ingest("chat", InboundMessage("v2", "hello too"))
    clock.advance(300)
    now = await board(desk)
    [flow] = now.channels
    assert (flow.channel, flow.waiting, flow.longest_wait, flow.received) == ("chat", 2, 300, 2)
    assert (flow.online, flow.available) == (1, 1)
    assert flow.queue[-1] == 2 and len(flow.queue) == 60
    await ana.assign(chat.id, "ana")
    await ana.request(rq.Focus(task_id=chat.id))
    clock.advance(60)
    await ana.reply(chat.id, "hi")
    await ana.set_status(chat.id, Status.CLOSED)
    clock.advance(60)
    await desk.activity.drain()
    later = await board(desk)
    [flow] = later.channels
    assert (flow.waiting, flow.handled) == (1, 1)
    assert (flow.first_response_p50, flow.first_response_p90) == (360, 360)
    agents = {a.name: a for a in later.agents}
    assert agents["ana"].presence == "online"
    assert agents["ana"].online == 420  # online since 09:00, now 09:07
    assert agents["ana"].focus == {"chat": 120}
    assert agents["ana"].engaged == {"chat": 60}  # assigned 09:05, closed 09:06
    assert agents["ana"].focus_task == chat.id
    assert agents["ana"].capacity == {"chat": 2}
    assert agents["bo"].presence == "offline" and agents["bo"].online == 0


async def test_the_board_and_a_report_of_today_give_the_same_numbers(
    desk: Desk, clock: Clock
) -> None:
    ana = LocalDeskClient(desk, Actor(agent="ana", role=Role.AGENT))
    await board(desk)  # live from the start
    for n in range(5):
        task = (await desk.ingest("chat", InboundMessage(f"v{n}", "hello"))).task
        clock.advance(30 * (n + 1))
        await ana.assign(task.id, "ana")
        await ana.reply(task.id, "hi")
        if n % 2:
            await ana.set_status(task.id, Status.CLOSED)
    mail = (await desk.ingest("mail", InboundMessage("kim@example.com", "invoice"))).task
    clock.advance(600)
    await ana.reply(mail.id, "here")
    live = {flow.channel: flow for flow in (await board(desk)).channels}
    since = START - 9 * 3600
    collected = await desk.read(lambda: collect(desk.store, ALWAYS, until=clock()))
    rows = summarize(
        collected.measures, GroupBy.CHANNEL, since=since, until=clock() + 1, zone=ZoneInfo("UTC")
    )
    assert set(live) == {row.key for row in rows} == {"chat", "email"}
    for row in rows:
        flow = live[row.key]
        first = row.time(Metric.FIRST_RESPONSE)
        assert (flow.received, flow.handled) == (
            row.count(Metric.RECEIVED),
            row.count(Metric.HANDLED),
        )
        assert (flow.first_response_p50, flow.first_response_p90) == (first.p50, first.p90)
    assert live["chat"].handled == 2 and live["chat"].first_response_p90 == 150


async def test_only_leads_see_the_board(desk: Desk) -> None:
    with pytest.raises(DeskError) as refused:
        await desk.handle(Actor(agent="ana", role=Role.AGENT), rq.GetBoard())
    assert refused.value.code == ErrorCode.FORBIDDEN
    assert "lead" in refused.value.message
    assert await desk.handle(Actor(agent="bo", role=Role.LEAD), rq.GetBoard())


async def test_the_history_is_folded_beside_the_writer_then_caught_up(tmp_path, clock) -> None:
    from agentdesk.api.agents import Presence
    from agentdesk.metrics.live import LiveMetrics
    from agentdesk.store.sqlite_store import SqliteStore

    store = SqliteStore.open(tmp_path / "store")
    desk = Desk(store, clock=clock)
    desk.register_channel(ChannelStatus("chat", "test", CHANNELS["chat"], HealthState.UP))
    await desk.ingest("chat", InboundMessage("v1", "first"))
    # What a second connection reads, while the writer goes on.
    reader = store.reader()
    live = LiveMetrics.from_store(reader, ALWAYS, clock())
    reader.close()
    await desk.ingest("chat", InboundMessage("v2", "meanwhile"))
    desk.set_presence("ana", Presence.ONLINE)
    await desk.activity.drain()
    await desk.read(live.catch_up, store, clock() - 1)
    assert len(live.folds) == 2
    assert [a.value for a in live.activity["ana"]] == ["online"]
    # The desk does the same by itself: every task counts on its board.
    board = await desk.handle(Actor.embedded("lead"), rq.GetBoard())
    assert board.channels[0].received == 2 and board.channels[0].waiting == 2
    await desk.read(store.close)
    desk.close()
