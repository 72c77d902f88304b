"""Service-level targets: which applies, when a task turns amber and red, the
clock stopped while pending, in business hours; the desk publishing them."""

from __future__ import annotations

import datetime

import pytest
from fixed_clock import Clock
from test_metrics import OFFICE, Log, at

from agentdesk.api import Actor, ChannelStatus, SlaDue
from agentdesk.api import requests as rq
from agentdesk.core.config import ConfigError, parse_config
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.domain import Status
from agentdesk.metrics import ALWAYS, BusinessCalendar, TaskFold
from agentdesk.metrics.sla import SlaPolicy, SlaTarget, due_of
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

POLICY = SlaPolicy(
    (
        SlaTarget(first_response=4 * 3600, next_reply=8 * 3600, resolution=3 * 86400),
        SlaTarget(channel="chat", first_response=120, next_reply=300),
        SlaTarget(channel="chat", priority="urgent", first_response=30),
        SlaTarget(priority="urgent", first_response=3600),
    ),
    warn_at=0.75,
)


def due(log: Log, now: float, priority: str = "normal", calendar: BusinessCalendar = ALWAYS):
    fold = TaskFold(log.task, calendar=calendar, emit=lambda m: None, span=lambda s: None)
    for event in log.events:
        fold.add(event)
    return due_of(fold, priority, POLICY, calendar, now)


def test_the_most_specific_target_applies() -> None:
    assert POLICY.target_for("chat", "urgent").first_response == 30
    assert POLICY.target_for("chat", "normal").first_response == 120
    assert POLICY.target_for("email", "urgent").first_response == 3600
    assert POLICY.target_for("email", "normal").first_response == 4 * 3600
    assert SlaPolicy().target_for("chat", "normal") is None


def test_a_chat_turns_amber_then_red_and_each_reply_starts_the_next_clock() -> None:
    log = Log().customer(at("09:00"))
    # 2 minutes for the first response; amber at three quarters (90 s).
    assert due(log, at("09:00")) == SlaDue("first_response", at("09:00") + 90, at("09:02"))
    assert due(log, at("09:00"), priority="urgent").due_at == at("09:00") + 30
    log.reply(at("09:01"), "ana")
    assert due(log, at("09:01")) is None  # answered; chats have no resolution target here
    log.customer(at("09:10"))
    assert due(log, at("09:11")) == SlaDue("next_reply", at("09:10") + 225, at("09:15"))
    # Past it, the moment lies behind: the console shows red.
    assert due(log, at("09:20")).due_at == at("09:15")


def test_the_nearest_target_wins_and_pending_stops_every_clock() -> None:
    log = Log(channel="email").customer(at("09:00"))
    assert due(log, at("09:00")).metric == "first_response"  # 4 h before 3 days
    log.status(at("09:30"), "open", "pending")
    assert due(log, at("10:00")) is None
    log.status(at("11:30"), "pending", "open", actor="system")
    # Two hours pending do not count: 4 h from 09:00 plus 2 h = 15:00.
    assert due(log, at("11:30")).due_at == at("15:00")


def test_targets_count_business_hours() -> None:
    friday = 4
    log = Log(channel="email").customer(at("17:00", friday))
    # Friday 17:00-18:00 is one hour; the other three are Monday 09:00-12:00.
    found = due(log, at("17:00", friday), calendar=OFFICE)
    assert found.due_at == at("12:00", friday + 3)
    # Amber at 3 h: Friday's hour, then Monday 09:00-11:00.
    assert found.warn_at == at("11:00", friday + 3)


def test_the_sla_table_in_the_config() -> None:
    config = parse_config(
        {
            "sla": {
                "warn_at": 0.5,
                "targets": [
                    {"first_response": "4h", "resolution": 259200},
                    {"channel": "chat", "priority": "urgent", "first_response": "30s"},
                ],
            }
        }
    )
    assert config.sla.warn_at == 0.5
    assert config.sla.target_for("chat", "urgent").first_response == 30
    assert config.sla.target_for("sms", "low").resolution == 259200


@pytest.mark.parametrize(
    ("sla", "says"),
    [
        ({"warn_at": 2}, "sla.warn_at: a share of the target"),
        ({"targets": [{"first_response": "soon"}]}, "sla.targets[0].first_response: 'soon'"),
        ({"targets": [{"channel": "chat"}]}, "sla.targets[0]: give at least one of"),
        ({"targets": [{"priority": "vip", "resolution": 60}]}, "'vip' is not a priority"),
        ({"targets": [{"resolution": 0}]}, "longer than nothing"),
        (
            {"targets": [{"resolution": 60}, {"next_reply": 60}]},
            "sla.targets[1]: a second target",
        ),
        ({"targets": [{"resolve": 60}]}, "resolve"),
    ],
)
def test_a_bad_sla_table_names_the_key(sla: dict, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"sla": sla}, source="desk.toml")
    assert says in str(caught.value) and "desk.toml" in str(caught.value)


START = datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC).timestamp()


@pytest.fixture
async def desk():
    clock = Clock(START)
    made = Desk(MemoryStore(), clock=clock, sla=POLICY)
    made.register_channel(
        ChannelStatus(
            "chat", "test", Capabilities(kind="chat", identity_kind="chat"), HealthState.UP
        )
    )
    yield made
    made.close()


async def test_the_desk_publishes_each_tasks_clock_and_the_board_counts_breaches(desk) -> None:
    before = (await desk.ingest("chat", InboundMessage("v0", "already waiting"))).task
    updates = desk.bus.subscribe(desk.store.seq)
    await desk.live_metrics()  # folded from the history: every running clock is said
    first = (await anext(updates)).update
    assert first.sla == {before.id: SlaDue("first_response", START + 90, START + 120)}
    task = (await desk.ingest("chat", InboundMessage("v1", "hello"))).task
    published = (await anext(updates)).update
    assert published.sla[task.id].due_at == START + 120
    snapshot = await desk.handle(Actor.embedded("ana"), rq.GetSnapshot())
    assert set(snapshot.sla) == {before.id, task.id}
    desk.clock.advance(100)  # amber
    board = await desk.handle(Actor.embedded("ana"), rq.GetBoard())
    assert (board.channels[0].breached, board.channels[0].near_breach) == (0, 2)
    ana = LocalDeskClient(desk, "ana")
    await ana.reply(task.id, "hi")
    answered = (await anext(updates)).update
    assert answered.sla == {task.id: None}
    desk.clock.advance(60)  # the first is late now
    board = await desk.handle(Actor.embedded("ana"), rq.GetBoard())
    assert (board.channels[0].breached, board.channels[0].near_breach) == (1, 0)
    await ana.set_status(before.id, Status.CLOSED)
    assert desk.sla == {}
