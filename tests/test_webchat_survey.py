"""The web chat's inline satisfaction survey: sent under an agent message,
answered in the widget, checked by the channel and emitted as InboundSurvey.

The protocol with a websockets client against the channel on a real server,
then the widget itself in headless Chromium (skipped without it, as in
test_webchat_browser).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from agentdesk_webchat import protocol
from test_webchat_browser import (
    ARTIFACTS,
    browser,
    expect,
    next_message,
    open_widget,
    page,
    visitor_says,
)
from test_webchat_server import STEP, Chat, FlakyState, Visitor, closed, running_chat

from agentdesk.plugin import (
    DeliveryReceipt,
    InboundMessage,
    InboundSurvey,
    Outbound,
    PermanentDeliveryError,
    SurveyQuestion,
    TypingSignal,
)
from agentdesk.plugin.testing import MemoryState
from agentdesk.plugin.validation import inbound_problems

__all__ = ["browser", "page"]  # fixtures, imported for the browser tests

CSAT = SurveyQuestion(
    metric="csat",
    question="How satisfied are you with the help you got?",
    low=1,
    high=5,
    low_label="Very unsatisfied",
    high_label="Very satisfied",
)
CES = SurveyQuestion(
    metric="ces",
    question="The company made it easy for me to handle my issue.",
    low=1,
    high=7,
    low_label="Strongly disagree",
    high_label="Strongly agree",
)
SURVEY_TEXT = "Thanks for contacting us! How did we do?"
# Answers are immediate here: nothing waits for a browser's receipt.
QUICK = {"delivery_wait_seconds": 0}


def survey_outbound(
    to: str, *questions: SurveyQuestion, key: str = "survey-t1", task_number: int = 42
) -> Outbound:
    return Outbound(
        key=key,
        to=to,
        text=SURVEY_TEXT,
        task_id="t1",
        task_number=task_number,
        survey=questions or (CSAT, CES),
    )


async def answer(
    visitor: Visitor, metric: str, score: Any, comment: str = "", key: str = "survey-t1"
) -> dict[str, Any]:
    """Answer one question and return the desk's reply (skipping other frames)."""
    await visitor.send(type="survey_answer", id=key, metric=metric, score=score, comment=comment)
    while True:
        frame = await visitor.frame()
        if frame["type"] in ("survey_answered", "error"):
            return frame


async def still_connected(visitor: Visitor) -> None:
    await visitor.send(type="ping")
    assert await visitor.ws.recv() == '{"type":"pong"}'


def surveys(chat: Chat) -> list[InboundSurvey]:
    return chat.emitted(InboundSurvey)


async def visitor_with_survey(chat: Chat, visitor: Visitor) -> dict[str, Any]:
    """The visitor writes, the desk sends the survey; the survey's frame."""
    await visitor.say("thanks, that fixed it")
    await chat.channel.send(survey_outbound(visitor.session))
    frame = await visitor.frame()
    assert frame["type"] == "message" and frame["id"] == "survey-t1"
    return frame


# -- sending -------------------------------------------------------------------------


async def test_a_survey_reaches_the_connected_visitor_with_both_questions() -> None:
    async with running_chat(QUICK) as chat, Visitor.connect(chat) as visitor:
        frame = await visitor_with_survey(chat, visitor)
        assert (frame["from"], frame["text"], frame["seq"]) == ("agent", SURVEY_TEXT, 2)
        assert frame["survey"] == [
            {
                "metric": "csat",
                "question": CSAT.question,
                "low": 1,
                "high": 5,
                "low_label": "Very unsatisfied",
                "high_label": "Very satisfied",
                "answer": None,
            },
            {
                "metric": "ces",
                "question": CES.question,
                "low": 1,
                "high": 7,
                "low_label": "Strongly disagree",
                "high_label": "Strongly agree",
                "answer": None,
            },
        ]
        # Sending it again (an outbox retry) shows it once.
        await chat.channel.send(survey_outbound(visitor.session))
        await still_connected(visitor)
        # A plain reply carries no survey.
        await chat.channel.send(chat.reply(visitor.session, "Anything else?", "r2"))
        assert "survey" not in await visitor.frame()


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        (SurveyQuestion("csat", "Rate us", 5, 5), "not a scale"),
        (SurveyQuestion("csat", "Rate us", 5, 1), "not a scale"),
        (SurveyQuestion("nps", "Recommend us?", 0, 11), "not a scale"),
        (SurveyQuestion("csat", "   ", 1, 5), "no text"),
        (SurveyQuestion("csat", "x" * 1001, 1, 5), "longer than 1000"),
        (SurveyQuestion("CSAT <b>", "Rate us", 1, 5), "metric"),
        (SurveyQuestion("csat", "Rate us", 1, 5, low_label="l" * 201), "labels"),
    ],
)
async def test_a_survey_the_widget_cannot_show_is_refused(
    question: SurveyQuestion, problem: str
) -> None:
    async with running_chat(QUICK) as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.say("hi")
        with pytest.raises(PermanentDeliveryError, match=problem):
            await chat.channel.send(survey_outbound(visitor.session, question))
        with pytest.raises(PermanentDeliveryError, match="asked twice"):
            await chat.channel.send(survey_outbound(visitor.session, CSAT, CSAT))
        async with Visitor.connect(chat, token=visitor.token, last_seq=1) as back:
            await still_connected(back)  # nothing was added to the conversation


# -- answering ------------------------------------------------------------------------


async def test_an_answer_is_emitted_as_an_inbound_survey() -> None:
    async with running_chat(QUICK) as chat, Visitor.connect(chat) as visitor:
        await visitor_with_survey(chat, visitor)
        comment = "Quick and <b>kind</b>, thanks"
        confirmed = await answer(visitor, "csat", 4, f"  {comment}\n")
        assert confirmed == {
            "type": "survey_answered",
            "id": "survey-t1",
            "metric": "csat",
            "score": 4,
        }
        (item,) = surveys(chat)
        assert item == InboundSurvey(
            identity=visitor.session,
            metric="csat",
            score=4,
            comment=comment,
            task_number=42,
            external_id="survey-t1:csat",
            at=item.at,
        )
        assert item.at is not None and item.at > 0
        assert inbound_problems(item) == []
        # The other question is its own answer, given later or never.
        assert (await answer(visitor, "ces", 7))["type"] == "survey_answered"
        assert [(s.metric, s.score, s.comment, s.external_id) for s in surveys(chat)] == [
            ("csat", 4, comment, "survey-t1:csat"),
            ("ces", 7, "", "survey-t1:ces"),
        ]


async def test_every_tab_sees_the_answer_and_a_second_answer_is_refused() -> None:
    async with running_chat(QUICK) as chat, Visitor.connect(chat) as visitor:
        await visitor_with_survey(chat, visitor)
        async with Visitor.connect(chat, token=visitor.token, last_seq=2) as other_tab:
            assert (await answer(visitor, "csat", 5))["type"] == "survey_answered"
            assert await other_tab.frame() == {
                "type": "survey_answered",
                "id": "survey-t1",
                "metric": "csat",
                "score": 5,
            }
            # A double click, or the other tab answering too: refused, not emitted.
            for tab, score in ((visitor, 5), (other_tab, 1)):
                refused = await answer(tab, "csat", score)
                assert refused["code"] == "survey_answered"
                assert (refused["survey"], refused["metric"], refused["score"]) == (
                    "survey-t1",
                    "csat",
                    5,
                )
        assert [(s.metric, s.score) for s in surveys(chat)] == [("csat", 5)]


@pytest.mark.parametrize(
    ("frame", "code", "says"),
    [
        ({"metric": "nps", "score": 9}, "bad_survey", "no question 'nps'"),
        ({"metric": "csat", "score": 0}, "bad_survey", "1 to 5"),
        ({"metric": "csat", "score": 6}, "bad_survey", "1 to 5"),
        ({"metric": "ces", "score": 8}, "bad_survey", "1 to 7"),
        ({"metric": "csat", "score": "4"}, "bad_survey", "whole number"),
        ({"metric": "csat", "score": 4.5}, "bad_survey", "whole number"),
        ({"metric": "csat", "score": True}, "bad_survey", "whole number"),
        ({"metric": "csat"}, "bad_survey", "whole number"),
        ({"metric": "csat", "score": 4, "comment": 12}, "bad_survey", "text"),
        ({"metric": "csat", "score": 4, "comment": "x" * 2001}, "too_long", "limit is 2000"),
        ({"id": "r-plain", "metric": "csat", "score": 4}, "bad_survey", "no such survey"),
        ({"id": "survey-other", "metric": "csat", "score": 4}, "bad_survey", "no such survey"),
        ({"id": 7, "metric": "csat", "score": 4}, "bad_survey", "name the survey"),
        ({"metric": ["csat"], "score": 4}, "bad_survey", "name a question"),
    ],
)
async def test_a_bad_answer_is_refused_and_nothing_is_emitted(
    frame: dict[str, Any], code: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_chat(QUICK) as chat, Visitor.connect(chat) as visitor:
        await visitor_with_survey(chat, visitor)
        await chat.channel.send(chat.reply(visitor.session, "A plain reply", "r-plain"))
        await visitor.frame()
        caplog.set_level(logging.INFO, logger="agentdesk.channel.webchat")
        await visitor.send(**{"type": "survey_answer", "id": "survey-t1", **frame})
        refused = await visitor.frame()
        assert (refused["type"], refused["code"]) == ("error", code)
        assert says in refused["message"]
        if isinstance(frame.get("metric"), str) and isinstance(frame.get("id", ""), str):
            assert refused["metric"] == frame["metric"]
        await still_connected(visitor)
        assert surveys(chat) == []
        assert any(
            "refused a frame" in r.getMessage() and code in r.getMessage() for r in caplog.records
        )
        # The question is still open.
        assert (await answer(visitor, "csat", 3))["type"] == "survey_answered"


async def test_no_answer_is_taken_from_a_session_that_was_sent_no_survey() -> None:
    async with running_chat(QUICK) as chat:
        async with Visitor.connect(chat) as surveyed:
            await visitor_with_survey(chat, surveyed)
        # Another visitor naming the first one's survey, before and after writing.
        async with Visitor.connect(chat) as stranger:
            assert (await answer(stranger, "csat", 5))["code"] == "bad_survey"
            await stranger.say("hello")
            assert (await answer(stranger, "csat", 5))["code"] == "bad_survey"
        assert surveys(chat) == []


# -- away, restarts, outages ----------------------------------------------------------------


async def test_a_visitor_away_gets_the_survey_on_return() -> None:
    async with running_chat(QUICK) as chat:
        async with Visitor.connect(chat) as visitor:
            seen = (await visitor.say("thanks, bye"))["seq"]
        delivery = await chat.channel.send(survey_outbound(visitor.session))
        assert delivery.state == "sent" and "offline" in delivery.detail
        async with Visitor.connect(chat, token=visitor.token, last_seq=seen) as back:
            replayed = await back.frame()
            assert (replayed["id"], replayed["text"]) == ("survey-t1", SURVEY_TEXT)
            assert [q["metric"] for q in replayed["survey"]] == ["csat", "ces"]
            assert (await answer(back, "ces", 6, "easy"))["type"] == "survey_answered"
        assert [(s.metric, s.score, s.comment) for s in surveys(chat)] == [("ces", 6, "easy")]


async def test_a_restart_keeps_the_survey_open_and_its_answers() -> None:
    state = MemoryState()
    async with running_chat(QUICK, state=state) as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor.say("thanks")
        await chat.channel.send(survey_outbound(visitor.session))
    async with running_chat(QUICK, state=state) as chat:  # the desk restarted
        async with Visitor.connect(chat, token=visitor.token, last_seq=1) as back:
            frame = await back.frame()
            assert [q["answer"] for q in frame["survey"]] == [None, None]
            assert (await answer(back, "csat", 2, "slow"))["type"] == "survey_answered"
        (item,) = surveys(chat)
        assert (item.identity, item.task_number, item.external_id) == (
            visitor.session,
            42,
            "survey-t1:csat",
        )
    async with running_chat(QUICK, state=state) as chat:  # and again
        # A reloaded page (last_seq 0) sees the answer inside the survey...
        async with Visitor.connect(chat, token=visitor.token) as reloaded:
            frames = [await reloaded.frame(), await reloaded.frame()]
            assert frames[1]["id"] == "survey-t1"
            assert [q["answer"] for q in frames[1]["survey"]] == [{"score": 2}, None]
            assert (await answer(reloaded, "csat", 5))["code"] == "survey_answered"
        # ...and a tab that already shows the survey is told it is answered.
        async with Visitor.connect(chat, token=visitor.token, last_seq=2) as open_tab:
            assert await open_tab.frame() == {
                "type": "survey_answered",
                "id": "survey-t1",
                "metric": "csat",
                "score": 2,
            }
            assert (await answer(open_tab, "ces", 4))["type"] == "survey_answered"
        assert [(s.metric, s.score) for s in surveys(chat)] == [("ces", 4)]


async def test_an_answer_the_desk_failed_to_keep_is_taken_again() -> None:
    state = FlakyState()
    async with running_chat(QUICK, state=state) as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor_with_survey(chat, visitor)
            state.broken = True
            await visitor.send(type="survey_answer", id="survey-t1", metric="csat", score=4)
            assert await closed(visitor.ws) == (1011, "internal error; reconnecting")
        state.broken = False
        async with Visitor.connect(chat, token=visitor.token, last_seq=2) as again:
            assert (await answer(again, "csat", 4))["type"] == "survey_answered"
            assert (await answer(again, "csat", 4))["code"] == "survey_answered"
        # Emitted before the failed write and again on the resend: one external
        # id, so the desk keeps one answer.
        assert [(s.external_id, s.score) for s in surveys(chat)] == [
            ("survey-t1:csat", 4),
            ("survey-t1:csat", 4),
        ]


async def test_a_long_comment_fits_under_a_small_message_limit() -> None:
    # The frame limit follows the longer of a message and a comment.
    async with running_chat({**QUICK, "max_message_chars": 50}) as chat:
        async with Visitor.connect(chat) as visitor:
            await visitor_with_survey(chat, visitor)
            comment = 'é"' * 1000
            assert (await answer(visitor, "csat", 5, comment))["type"] == "survey_answered"
        assert surveys(chat)[0].comment == comment


def test_answer_frames_parse() -> None:
    raw = {"type": "survey_answer", "id": "k", "metric": "csat", "score": 3, "comment": None}
    assert protocol.parse_client_frame(json.dumps(raw), max_chars=10) == protocol.SurveyAnswer(
        "k", "csat", 3, ""
    )


# -- in the browser ---------------------------------------------------------------------------


async def next_survey(chat: Chat) -> InboundSurvey:
    """The next InboundSurvey the channel emitted, skipping messages, typing, receipts."""
    while True:
        item = await chat.ctx.next_inbound(STEP)
        if isinstance(item, InboundSurvey):
            return item
        assert isinstance(item, (InboundMessage, TypingSignal, DeliveryReceipt)), item


def question(page: Any, metric: str) -> Any:
    return page.locator(f".survey-question[data-metric='{metric}']")


@pytest.mark.asyncio(loop_scope="module")
async def test_the_visitor_rates_in_the_widget(page: Any, desk: Any) -> None:
    async with running_chat() as chat:
        await open_widget(page, chat)
        await visitor_says(page, "That fixed it, thanks")
        message = await next_message(chat)
        task = (await desk.ingest("chat", message)).task
        await chat.channel.send(survey_outbound(message.identity, task_number=task.number))

        survey = page.locator("#chat-log .msg-agent .survey")
        await expect(page.locator("#chat-log .msg-agent .text").last).to_have_text(SURVEY_TEXT)
        csat, ces = question(page, "csat"), question(page, "ces")
        await expect(csat.locator(".survey-text")).to_have_text(CSAT.question)
        await expect(csat.locator(".survey-score")).to_have_text(["1", "2", "3", "4", "5"])
        await expect(ces.locator(".survey-score")).to_have_count(7)
        await expect(csat.locator(".survey-ends")).to_have_text("Very unsatisfiedVery satisfied")
        await expect(csat.get_by_role("button", name="1, Very unsatisfied")).to_be_visible()
        await expect(csat.locator(".survey-send")).to_be_disabled()  # no score chosen yet

        # By keyboard: focus the first score, arrow to 4, choose it.
        await csat.locator(".survey-score").first.focus()
        for _ in range(3):
            await page.keyboard.press("ArrowRight")
        await page.keyboard.press("Space")
        await expect(csat.locator(".survey-score[aria-pressed='true']")).to_have_text("4")
        await csat.locator("textarea").fill("Fast and friendly")
        await csat.locator(".survey-send").click()

        item = await next_survey(chat)
        assert (item.identity, item.metric, item.score, item.comment) == (
            message.identity,
            "csat",
            4,
            "Fast and friendly",
        )
        assert (item.task_number, item.external_id) == (task.number, "survey-t1:csat")
        recorded = await desk.ingest("chat", item)
        assert recorded.task.id == task.id and not recorded.duplicate
        assert (await desk.ingest("chat", item)).duplicate  # a replay is dropped by the desk

        await expect(csat.locator(".survey-note")).to_have_text("Thank you for your answer!")
        scores = csat.locator(".survey-score")
        for n in range(5):
            await expect(scores.nth(n)).to_be_disabled()
        await expect(csat.locator("textarea")).to_be_hidden()
        await scores.nth(0).click(force=True)  # a disabled button does nothing
        await expect(scores.nth(3)).to_have_attribute("aria-pressed", "true")
        await expect(scores.nth(0)).to_have_attribute("aria-pressed", "false")
        # The other question is still open, on its own.
        await expect(ces.locator(".survey-score").first).to_be_enabled()
        await page.wait_for_timeout(100)
        assert surveys(chat) == [item]
        ARTIFACTS.mkdir(exist_ok=True)
        await survey.screenshot(path=str(ARTIFACTS / "webchat-survey.png"))


@pytest.mark.asyncio(loop_scope="module")
async def test_a_visitor_away_answers_later_and_a_reload_shows_it_answered(page: Any) -> None:
    async with running_chat() as chat:
        await open_widget(page, chat)
        await visitor_says(page, "Bye!")
        session = (await next_message(chat)).identity
        context = page.context
        await page.close()  # the visitor leaves
        async with asyncio.timeout(STEP):
            while chat.channel.is_connected(session):
                await asyncio.sleep(0.02)
        delivery = await chat.channel.send(survey_outbound(session))
        assert delivery.state == "sent"

        back = await context.new_page()  # and comes back later, same browser
        await open_widget(back, chat)
        ces = question(back, "ces")
        await ces.get_by_role("button", name="6", exact=True).click()
        await ces.locator(".survey-send").click()
        item = await next_survey(chat)
        assert (item.metric, item.score, item.comment) == ("ces", 6, "")
        await expect(ces.locator(".survey-note")).to_have_text("Thank you for your answer!")

        await back.reload()
        await expect(back.locator("#chat-status")).to_have_text("Online")
        ces, csat = question(back, "ces"), question(back, "csat")
        await expect(ces.locator(".survey-note")).to_have_text("Thank you for your answer!")
        await expect(ces.locator(".survey-score[aria-pressed='true']")).to_have_text("6")
        await expect(ces.locator(".survey-score").first).to_be_disabled()
        await expect(csat.locator(".survey-score").first).to_be_enabled()
        await csat.get_by_role("button", name="5, Very satisfied").click()
        await csat.locator(".survey-send").click()
        assert (await next_survey(chat)).metric == "csat"
        await expect(csat.locator(".survey-note")).to_have_text("Thank you for your answer!")


@pytest.mark.asyncio(loop_scope="module")
async def test_hostile_survey_text_shows_as_text(page: Any) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    tricky = SurveyQuestion(
        metric="csat",
        question=hostile,
        low=1,
        high=5,
        low_label='<img src=x onerror="window.pwned=1">',
        high_label="<script>window.pwned=2</script>",
    )
    async with running_chat() as chat:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await open_widget(page, chat)
        await visitor_says(page, "hi")
        session = (await next_message(chat)).identity
        await chat.channel.send(survey_outbound(session, tricky))
        csat = question(page, "csat")
        await expect(csat.locator(".survey-text")).to_have_text(hostile)
        await expect(csat.locator(".survey-low")).to_have_text(tricky.low_label)
        await expect(csat.locator(".survey-high")).to_have_text(tricky.high_label)
        assert await page.locator("#chat-log img, #chat-log script").count() == 0
        assert await page.evaluate("window.pwned") is None
        assert dialogs == []
