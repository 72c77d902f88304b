"""Worked examples of every metric (docs/reports.md), computed by hand.

Times are on Monday 30 November 2026 (UTC) unless said; the business
calendar is 09:00-18:00 Monday to Friday.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from agentdesk.domain import (
    Activity,
    ActivityKind,
    Assignment,
    Direction,
    Event,
    Handoff,
    Message,
    Note,
    StatusChange,
    Transfer,
)
from agentdesk.metrics import (
    ALWAYS,
    BusinessCalendar,
    EngagedSpan,
    GroupBy,
    Measure,
    Metric,
    TaskFold,
    agent_time,
    in_period,
    percentile,
    shared_time,
    summarize,
)

UTC = datetime.UTC
MON = datetime.datetime(2026, 11, 30, tzinfo=UTC).timestamp()
OFFICE = BusinessCalendar(hours=(((540, 1080),),) * 5 + ((), ()))


def at(hhmm: str, day: int = 0) -> float:
    hours, minutes = hhmm.split(":")
    return MON + day * 86400 + int(hours) * 3600 + int(minutes) * 60


class Log:
    """Builds one task's events in order."""

    def __init__(self, task: str = "T1", channel: str = "chat") -> None:
        self.task, self.channel, self.events = task, channel, []
        self._n = 0

    def _base(self, when: float, actor: str) -> dict:
        self._n += 1
        return {
            "id": f"{self.task}-{self._n:03d}",
            "task_id": self.task,
            "customer_id": "C1",
            "at": when,
            "actor": actor,
        }

    def customer(self, when: float, channel: str | None = None) -> Log:
        self.events.append(
            Message(
                **self._base(when, "customer"),
                direction=Direction.INBOUND,
                channel="ch",
                channel_kind=channel or self.channel,
                text="hello",
            )
        )
        return self

    def reply(self, when: float, agent: str, channel: str | None = None) -> Log:
        self.events.append(
            Message(
                **self._base(when, agent),
                direction=Direction.OUTBOUND,
                channel="ch",
                channel_kind=channel or self.channel,
                text="hi",
            )
        )
        return self

    def note(self, when: float, agent: str) -> Log:
        self.events.append(Note(**self._base(when, agent), text="internal"))
        return self

    def status(self, when: float, old: str, new: str, actor: str = "ana") -> Log:
        self.events.append(StatusChange(**self._base(when, actor), old=old, new=new))
        return self

    def assign(self, when: float, agent: str | None, actor: str = "system") -> Log:
        self.events.append(Assignment(**self._base(when, actor), new_assignee=agent))
        return self

    def transfer(self, when: float, agent: str | None, team: str | None) -> Log:
        self.events.append(Transfer(**self._base(when, "lead"), new_assignee=agent, new_team=team))
        return self

    def handoff(self, when: float) -> Log:
        self.events.append(Handoff(**self._base(when, "ana"), from_channel="a", to_channel="b"))
        return self


def fold(events: list[Event], calendar: BusinessCalendar = OFFICE, now: float | None = None):
    measures: list[Measure] = []
    spans: list[EngagedSpan] = []
    task = TaskFold(events[0].task_id, calendar=calendar, emit=measures.append, span=spans.append)
    for event in events:
        task.add(event)
    if now is not None and (running := task.open_span(now)) is not None:
        spans.append(running)
    return measures, spans


def of(measures: list[Measure], metric: Metric) -> list[Measure]:
    return [m for m in measures if m.metric == metric]


def seconds(measures: list[Measure], metric: Metric) -> list[float | None]:
    return [m.seconds for m in of(measures, metric)]


def test_a_conversation_answered_twice_then_closed_and_reopened() -> None:
    log = (
        Log()
        .customer(at("09:00"))
        .assign(at("09:10"), "ana")
        .note(at("09:20"), "ana")  # a note answers nobody
        .reply(at("09:30"), "ana")
        .customer(at("10:00"))
        .customer(at("10:05"))
        .reply(at("10:20"), "ana")
        .status(at("10:30"), "open", "closed")
        .status(at("11:00"), "closed", "open", actor="system")
        .customer(at("11:00"))
        .reply(at("11:15"), "ana")
        .status(at("11:45"), "open", "closed")
    )
    measures, spans = fold(log.events)
    assert len(of(measures, Metric.RECEIVED)) == 1
    # 09:00 -> 09:10 in the queue.
    assert seconds(measures, Metric.WAITING) == [600]
    # Created 09:00 -> first reply 09:30; reopened 11:00 -> reply 11:15.
    assert seconds(measures, Metric.FIRST_RESPONSE) == [1800, 900]
    # Each unanswered customer message -> the reply answering it:
    # 09:00 -> 09:30, 10:00 (the first of two) -> 10:20, 11:00 -> 11:15.
    assert seconds(measures, Metric.REPLY) == [1800, 1200, 900]
    # First resolution at the first close, 09:00 -> 10:30.
    assert seconds(measures, Metric.FIRST_RESOLUTION) == [5400]
    # Full resolution at each close; the last one counts: 09:00 -> 11:45.
    assert seconds(measures, Metric.FULL_RESOLUTION) == [5400, 9900]
    # Handle: assigned and open 09:10 -> 10:30 and 11:00 -> 11:45 = 4800 + 2700.
    assert seconds(measures, Metric.HANDLE) == [4800, 7500]
    assert [m.agent for m in of(measures, Metric.HANDLED)] == ["ana", "ana"]
    assert len(of(measures, Metric.REOPEN)) == 1
    # All inside office hours: business time is the same.
    assert [m.business for m in of(measures, Metric.FIRST_RESPONSE)] == [1800, 900]
    assert [(s.start, s.end) for s in spans] == [
        (at("09:10"), at("10:30")),
        (at("11:00"), at("11:45")),
    ]
    kept = in_period(measures, at("00:00"), at("00:00", 1))
    assert seconds(kept, Metric.FULL_RESOLUTION) == [9900]
    assert seconds(kept, Metric.HANDLE) == [7500]


def test_pending_time_is_cut_from_business_time_only() -> None:
    log = (
        Log(channel="email")
        .customer(at("16:00"))
        .status(at("16:30"), "open", "pending", actor="bo")
        .status(at("10:00", 1), "pending", "open", actor="system")
        .reply(at("10:30", 1), "bo")
        .assign(at("10:40", 1), "bo")
    )
    measures, _ = fold(log.events)
    [first] = of(measures, Metric.FIRST_RESPONSE)
    # Calendar: Monday 16:00 -> Tuesday 10:30 = 18 h 30 min.
    assert first.seconds == 18.5 * 3600
    # Business: Monday 16:00-18:00 (2 h) less pending 16:30-18:00 (1 h 30)
    # + Tuesday 09:00-10:30 (1 h 30) less pending 09:00-10:00 (1 h) = 1 h.
    assert first.business == 3600
    # In the queue 16:00 -> 16:30, then from waking 10:00 to 10:40.
    assert seconds(measures, Metric.WAITING) == [1800, 2400]


def test_the_night_and_the_weekend_are_not_business_time() -> None:
    friday = 4
    log = Log().customer(at("17:00", friday)).reply(at("10:00", friday + 3), "ana")
    measures, _ = fold(log.events)
    [first] = of(measures, Metric.FIRST_RESPONSE)
    assert first.seconds == 65 * 3600  # Friday 17:00 -> Monday 10:00
    assert first.business == 2 * 3600  # Friday 17:00-18:00 + Monday 09:00-10:00
    measures, _ = fold(log.events, calendar=ALWAYS)
    assert of(measures, Metric.FIRST_RESPONSE)[0].business == 65 * 3600


def test_automatic_messages_answer_nobody_and_an_agent_writing_first_is_no_response() -> None:
    log = (
        Log()
        .customer(at("09:00"))
        .reply(at("09:01"), "system")  # the auto-acknowledgement
        .reply(at("09:20"), "ana")
    )
    measures, _ = fold(log.events)
    assert seconds(measures, Metric.FIRST_RESPONSE) == [1200]
    outbound_first = Log(task="T2").reply(at("09:00"), "ana").customer(at("09:30"))
    outbound_first.reply(at("09:40"), "ana")
    measures, _ = fold(outbound_first.events)
    assert seconds(measures, Metric.FIRST_RESPONSE) == []
    assert seconds(measures, Metric.REPLY) == [600]


def test_an_outbound_message_written_again_counts_once() -> None:
    log = Log().customer(at("09:00")).reply(at("09:10"), "ana")
    again = log.events[-1]
    measures, _ = fold([*log.events, again])
    assert seconds(measures, Metric.REPLY) == [600]


def test_a_transfer_moves_the_task_and_its_later_measures_to_the_new_team() -> None:
    log = (
        Log()
        .customer(at("09:00"))
        .assign(at("09:05"), "ana")
        .transfer(at("09:20"), "bo", "billing")
        .reply(at("09:30"), "bo")
        .handoff(at("09:40"))
        .reply(at("09:45"), "bo", channel="email")
        .status(at("10:00"), "open", "closed", actor="bo")
    )
    measures, spans = fold(log.events)
    [transfer] = of(measures, Metric.TRANSFER)
    assert (transfer.agent, transfer.team) == ("bo", "billing")
    assert len(of(measures, Metric.HANDOFF)) == 1
    [first] = of(measures, Metric.FIRST_RESPONSE)
    assert (first.agent, first.team, first.channel) == ("bo", "billing", "chat")
    [handled] = of(measures, Metric.HANDLED)
    assert (handled.agent, handled.channel) == ("bo", "email")
    # ana 09:05-09:20 on chat; bo 09:20-09:45 on chat, then on email to 10:00.
    assert [(s.agent, s.channel, s.end - s.start) for s in spans] == [
        ("ana", "chat", 900),
        ("bo", "chat", 1500),
        ("bo", "email", 900),
    ]


def presence(agent: str, when: float, value: str) -> Activity:
    return Activity(agent=agent, at=when, kind=ActivityKind.PRESENCE, value=value)


def focus(agent: str, when: float, task: str, channel: str) -> Activity:
    return Activity(agent=agent, at=when, kind=ActivityKind.FOCUS, value=task, channel=channel)


def test_two_channels_at_once_share_the_agents_clock() -> None:
    chat = Log("CHAT").customer(at("09:00")).assign(at("09:00"), "ana")
    chat.status(at("10:00"), "open", "closed")
    mail = Log("MAIL", channel="email").customer(at("09:30")).assign(at("09:30"), "ana")
    spans = fold(chat.events)[1] + fold(mail.events, now=at("12:00"))[1]
    activity = [
        presence("ana", at("09:00"), "online"),
        focus("ana", at("09:00"), "CHAT", "chat"),
        focus("ana", at("09:40"), "MAIL", "email"),
        focus("ana", at("10:50"), "", ""),
        presence("ana", at("11:00"), "offline"),
    ]
    time = agent_time(activity, spans, since=at("00:00"), until=at("12:00"))
    assert time.online == 7200  # 09:00 -> 11:00
    # Engaged: chat alone 09:00-09:30 (1800), both 09:30-10:00 (900 each),
    # email alone 10:00-11:00 (3600; the email stays open but ana went offline).
    assert time.engaged == {"chat": 2700, "email": 4500}
    assert sum(time.engaged.values()) == time.online
    # Focus: chat 09:00-09:40, email 09:40-10:50.
    assert time.focus == {"chat": 2400, "email": 4200}
    # A period cuts every figure at its edges: 09:45 -> 10:15.
    part = agent_time(activity, spans, since=at("09:45"), until=at("10:15"))
    assert part.online == 1800
    assert part.engaged == {"chat": 450, "email": 1350}
    assert part.focus == {"email": 1800}


def test_shared_time_with_three_at_once() -> None:
    shares = shared_time([("chat", (0, 30)), ("chat", (0, 30)), ("email", (0, 60))])
    # 0-30: three at once, 10 s each: chat 2 x 10, email 10;
    # 30-60: email alone.
    assert shares == {"chat": 20, "email": 40}


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5
    assert percentile(values, 0.9) == 9
    assert percentile([7.0], 0.9) == 7
    assert percentile([], 0.5) is None


def test_summary_groups_by_day_in_the_calendars_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    late = Log("LATE").customer(at("23:30")).reply(at("23:40"), "ana")  # 00:40 in Paris
    early = Log("EARLY").customer(at("10:00")).reply(at("10:20"), "bo")
    measures = fold(late.events)[0] + fold(early.events)[0]
    rows = summarize(measures, GroupBy.DAY, since=at("00:00"), until=at("00:00", 2), zone=paris)
    assert [(r.key, r.count(Metric.RECEIVED)) for r in rows] == [
        ("2026-11-30", 1),
        ("2026-12-01", 1),
    ]
    by_agent = summarize(measures, GroupBy.AGENT, since=0, until=at("00:00", 2), zone=paris)
    assert [(r.key, r.time(Metric.FIRST_RESPONSE).p50) for r in by_agent] == [
        ("-", None),
        ("ana", 600),
        ("bo", 1200),
    ]


@pytest.mark.parametrize("kind", ["first_response", "reply"])
def test_the_customer_writing_again_does_not_restart_the_clock(kind: str) -> None:
    log = Log().customer(at("09:00")).customer(at("09:30")).reply(at("10:00"), "ana")
    measures, _ = fold(log.events)
    assert seconds(measures, Metric(kind)) == [3600]
