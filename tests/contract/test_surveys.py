"""Satisfaction surveys, on every harness: asked once after an agent closes a
task, through the channel it ended on, in the form that channel takes, and
answered by a number, a link or the channel's own rating."""

from __future__ import annotations

from agentdesk.api import ChannelStatus, Role
from agentdesk.core.survey_config import SurveyConfig
from agentdesk.domain import Message, Status, SurveyAnswer
from agentdesk.plugin import Capabilities, HealthState, InboundSurvey

BOTH = SurveyConfig(ask=("csat", "ces"), delay=600, customer_days=30)
WEB = Capabilities(kind="chat", identity_kind="chat", realtime=True, survey_form="inline")


def surveys(harness, config=BOTH):
    harness.desk.set_surveys(config)
    harness.desk.register_channel(ChannelStatus("web", "test", WEB, HealthState.UP))


def survey_messages(desk, task_id):
    return [e for e in desk.store.events_of_task(task_id) if isinstance(e, Message) and e.survey]


def answers(desk, task_id):
    return [e for e in desk.store.events_of_task(task_id) if isinstance(e, SurveyAnswer)]


async def closed(harness, client, identity="+33611111111", channel="sms"):
    task = await harness.write_in(identity, "is the shop open on Sunday?", channel=channel)
    await client.reply(task.id, "Yes, from 10 to 18.")
    await client.set_status(task.id, Status.CLOSED)
    return task


async def test_a_closed_task_is_surveyed_by_text_one_question_at_a_time(harness, clock):
    surveys(harness)
    bo = await harness.client("bo", role=Role.AGENT)
    task = await closed(harness, bo)
    assert await harness.desk.send_due_surveys() == 0  # not before the delay
    clock.advance(601)
    assert await harness.desk.send_due_surveys() == 1
    [asked] = survey_messages(harness.desk, task.id)
    assert [a.metric for a in asked.survey] == ["csat"]  # by text, one question first
    assert f"#{task.number}" in asked.text and "Reply with a number from 1" in asked.text
    assert asked.channel == "sms" and asked.actor == "system"
    assert harness.desk.store.get_task(task.id).status == Status.CLOSED

    clock.advance(3600)
    await harness.write_in("+33611111111", "4 - quick and kind", channel="sms")
    [csat] = answers(harness.desk, task.id)
    assert (csat.metric, csat.score, csat.comment, csat.agent) == (
        "csat",
        4,
        "quick and kind",
        "bo",
    )
    assert harness.desk.store.get_task(task.id).status == Status.CLOSED  # an answer, not a reopen

    assert await harness.desk.send_due_surveys() == 1  # the second question, at once
    second = survey_messages(harness.desk, task.id)[-1]
    assert [a.metric for a in second.survey] == ["ces"] and "1 (strongly disagree)" in second.text
    await harness.write_in("+33611111111", "6", channel="sms")
    assert [(a.metric, a.score) for a in answers(harness.desk, task.id)] == [
        ("csat", 4),
        ("ces", 6),
    ]
    assert await harness.desk.send_due_surveys() == 0  # nothing left to ask

    # Now a number is a number: the customer writes again, the task reopens.
    reopened = await harness.write_in("+33611111111", "3 more questions, sorry", channel="sms")
    assert reopened.id == task.id and reopened.status == Status.OPEN
    assert len(answers(harness.desk, task.id)) == 2


async def test_a_reply_that_is_not_a_number_reopens_the_task(harness, clock):
    surveys(harness)
    ana = await harness.client("ana")
    task = await closed(harness, ana)
    clock.advance(601)
    await harness.desk.send_due_surveys()
    again = await harness.write_in("+33611111111", "Actually, is Monday open too?", channel="sms")
    assert again.id == task.id and again.status == Status.OPEN
    assert answers(harness.desk, task.id) == []
    assert await harness.desk.send_due_surveys() == 0


async def test_who_is_not_surveyed(harness, clock):
    surveys(harness)
    ana = await harness.client("ana")
    spam = await harness.write_in("+33622222222", "WIN A PRIZE", channel="sms")
    await ana.set_tags(spam.id, ["spam"])
    await ana.set_status(spam.id, Status.CLOSED)
    reopened = await closed(harness, ana, "+33633333333")
    clock.advance(60)
    await ana.set_status(reopened.id, Status.OPEN)  # reopened before the survey went
    first = await closed(harness, ana, "+33644444444")
    clock.advance(601)
    assert await harness.desk.send_due_surveys() == 1
    assert survey_messages(harness.desk, spam.id) == []
    assert survey_messages(harness.desk, reopened.id) == []
    assert len(survey_messages(harness.desk, first.id)) == 1
    # The same customer's next task, closed within customer_days: not asked again.
    clock.advance(8 * 86400)  # past the reopen window: a new task
    second = await closed(harness, ana, "+33644444444")
    assert second.id != first.id
    clock.advance(601)
    assert await harness.desk.send_due_surveys() == 0
    assert survey_messages(harness.desk, second.id) == []
    clock.advance(30 * 86400)  # a month later, asked again
    third = await closed(harness, ana, "+33644444444")
    clock.advance(601)
    assert await harness.desk.send_due_surveys() == 1
    assert len(survey_messages(harness.desk, third.id)) == 1


async def test_an_inline_rating_is_answered_once_and_credits_the_closer(harness, clock):
    surveys(harness)
    cy = await harness.client("cy", role=Role.AGENT)
    task = await closed(harness, cy, identity="sess-42", channel="web")
    clock.advance(601)
    await harness.desk.send_due_surveys()
    [asked] = survey_messages(harness.desk, task.id)
    assert [a.metric for a in asked.survey] == ["csat", "ces"]  # inline: both at once
    entry = next(e for e in harness.desk.store.outbox() if e.key == asked.id)
    outbound = await harness.desk.outbound_for(entry)
    assert [(q.metric, q.low, q.high) for q in outbound.survey] == [("csat", 1, 5), ("ces", 1, 7)]
    rating = InboundSurvey(
        "sess-42", "ces", 7, "so easy", task_number=task.number, external_id=f"{asked.id}:ces"
    )
    await harness.desk.ingest("web", rating)
    await harness.desk.ingest("web", rating)  # a double click
    [ces] = answers(harness.desk, task.id)
    assert (ces.score, ces.comment, ces.agent, ces.channel) == (7, "so easy", "cy", "web")


async def test_the_report_shows_csat_and_ces_by_agent_and_channel(harness, clock):
    from agentdesk.api import requests as rq
    from agentdesk.commands.report_render import flat_row

    surveys(harness)
    start = clock.now
    bo = await harness.client("bo", role=Role.AGENT)
    lead = await harness.client("lea", role=Role.LEAD)
    for number, (csat, ces) in enumerate([(5, 7), (4, 3), (2, 6)]):
        identity = f"+3361111000{number}"
        await closed(harness, bo, identity)
        clock.advance(601)
        await harness.desk.send_due_surveys()
        await harness.write_in(identity, str(csat), channel="sms")
        await harness.desk.send_due_surveys()
        await harness.write_in(identity, str(ces), channel="sms")
    report = await lead.request(rq.GetReport(since=start, until=clock.now + 1, by="agent"))
    [row] = [r for r in report.rows if r.key == "bo"]
    figures = flat_row(row, "calendar")
    assert figures["csat_answers"] == 3 and round(figures["csat"], 3) == round(2 / 3, 3)
    assert figures["ces_answers"] == 3 and round(figures["ces_mean"], 3) == round(16 / 3, 3)
    assert round(figures["ces_easy"], 3) == round(2 / 3, 3)
    by_channel = await lead.request(rq.GetReport(since=start, until=clock.now + 1, by="channel"))
    assert {r.key: r.count("csat") for r in by_channel.rows} == {"sms": 3}
