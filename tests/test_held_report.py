"""A report of the last month from the hub's live figures: the same numbers
as the full pass over the store, while older periods still take that pass."""

from __future__ import annotations

import datetime

from fixed_clock import Clock

from agentdesk.api import Actor, ChannelStatus, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.core.config import parse_config
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.domain import Priority, Status
from agentdesk.metrics import GroupBy
from agentdesk.metrics.live import HELD_DAYS
from agentdesk.metrics.report import build_report
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

# Monday 2 November 2026, 08:00 UTC.
START = datetime.datetime(2026, 11, 2, 8, tzinfo=datetime.UTC).timestamp()
DAY = 86400.0
CHANNELS = {
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True),
    "mail": Capabilities(kind="email", identity_kind="email"),
}
CONFIG = {
    "business_hours": {"timezone": "Europe/Paris", "mon": "09:00-18:00", "tue": "09:00-18:00"},
    "sla": {"targets": [{"channel": "chat", "first_response": "1m"}]},
}


async def a_month_and_more(desk: Desk, clock: Clock, days: int) -> list[str]:
    """Each day: ana online, a chat answered and closed (one in three
    reopened the next day), an email left open; a transfer now and then."""
    ana = LocalDeskClient(desk, Actor(agent="ana", role=Role.AGENT))
    bo = LocalDeskClient(desk, Actor(agent="bo", role=Role.AGENT))
    made: list[str] = []
    yesterday = None
    for day in range(days):
        clock.now = START + day * DAY
        desk.set_presence("ana", Presence.ONLINE)
        chat = (await desk.ingest("chat", InboundMessage(f"v{day}", "hello"))).task
        mail = (await desk.ingest("mail", InboundMessage(f"c{day}@example.com", "invoice"))).task
        made += [chat.id, mail.id]
        clock.advance(40 + day * 7)
        await ana.assign(chat.id, "ana")
        await ana.request(rq.Focus(task_id=chat.id))
        await ana.reply(chat.id, "hi")
        if day % 4 == 0:
            await ana.request(rq.SetPriority(task_id=chat.id, priority=Priority.HIGH))
        if day % 5 == 0:
            await bo.assign(mail.id, "bo")
            clock.advance(300)
            await bo.reply(mail.id, "here it is")
        clock.advance(600)
        await ana.set_status(chat.id, Status.CLOSED)
        if yesterday is not None:
            await desk.ingest("chat", InboundMessage(f"v{day - 1}", "it came back"))
            await ana.reply(yesterday, "on it")
            await ana.set_status(yesterday, Status.CLOSED)
        yesterday = chat.id if day % 3 == 0 else None
        clock.advance(3600)
        desk.set_presence("ana", Presence.OFFLINE)
        await desk.activity.drain()
        await desk.handle(Actor.embedded("lead"), rq.GetBoard())  # a day turns over
    return made


async def test_the_held_month_gives_the_full_passs_numbers() -> None:
    clock = Clock(START)
    config = parse_config(CONFIG)
    desk = Desk(MemoryStore(), clock=clock, calendar=config.business_hours, sla=config.sla)
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    try:
        await desk.live_metrics()
        await a_month_and_more(desk, clock, days=HELD_DAYS + 10)
        live = desk.live
        assert live is not None
        now = clock()
        recent = (now - 20 * DAY, now)
        too_old = (now - (HELD_DAYS + 5) * DAY, now - 25 * DAY)
        assert live.covers(recent[0]) and not live.covers(too_old[0])
        assert len(live.earlier.measures) > 100 and live.earlier.activity["ana"]
        held_reads: list[float] = []
        held = live.collected
        live.collected = lambda until: held_reads.append(until) or held(until)  # type: ignore[method-assign]
        for since, until in (recent, too_old):
            for by in GroupBy:
                asked = rq.GetReport(since=since, until=until, by=str(by))
                answer = await desk.handle(Actor.embedded("lead"), asked)
                full = await desk.read(
                    lambda since=since, until=until, by=by: build_report(
                        desk.store,
                        desk.calendar,
                        by,
                        since=since,
                        until=until,
                        sla=desk.sla_policy,
                    )
                )
                assert answer.agents == full.agents, (by, since)
                for a, b in zip(answer.rows, full.rows, strict=True):
                    assert a.key == b.key
                    assert a.counts == b.counts, (by, a.key)
                    assert a.timed == b.timed, (by, a.key)
                assert answer == full
                assert answer.rows
        # Only the recent period was summed from what the hub holds.
        assert held_reads == [recent[1]] * len(GroupBy)
        assert answer.agents["ana"].online > 0
        asked = rq.GetReport(since=recent[0], until=recent[1], by="channel")
        answer = await desk.handle(Actor.embedded("lead"), asked)
        chat = next(row for row in answer.rows if row.key == "chat")
        assert chat.count("reopen") > 0 and chat.time("first_response").business_p90
        assert chat.count("first_response_sla") > chat.count("first_response_sla_met") > 0
    finally:
        desk.close()
