"""Satisfaction surveys: asked once a task is closed, answered three ways.

The desk remembers a survey to send when an agent closes a task, sends it
after the configured delay through the channel the task ended on, in the
form that channel takes (``Capabilities.survey_form``), and records the
answer as a ``SurveyAnswer`` on the task's timeline, crediting the agent who
closed it:

- ``text``: the question and "reply with a number"; a reply that is only a
  number in range (maybe with a comment after it) is the answer; with two
  questions, the second is asked once the first is answered;
- ``link``: one link per score to the desk's HTTP server (an unguessable,
  single-use token each), plus "reply with a number";
- ``inline``: the channel shows a rating and emits ``InboundSurvey``.

What is pending lives in the store's state (``SURVEYS`` by task, ``ASKED`` by
customer, ``LINKS`` by token), so a restart forgets nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from agentdesk.api import DeskError
from agentdesk.core.survey_config import SCALES, SurveyConfig
from agentdesk.domain import Status, SurveyAnswer, SurveyAsk, Task
from agentdesk.domain.evolve import evolve
from agentdesk.domain.text import clean_text
from agentdesk.store import Batch, Store

from .actions import queue_message, recipient
from .context import Plan, PlanContext

log = logging.getLogger("agentdesk.desk")

SURVEYS = "agentdesk/surveys"
ASKED = "agentdesk/survey-customers"
LINKS = "agentdesk/survey-links"
MAX_COMMENT = 2000
#: A reply that is a survey answer: a number, then maybe a comment.
_ANSWER = re.compile(r"^\s*(\d{1,2})(?:\s*/\s*\d{1,2})?\s*(?:$|[-–—:.,;!)]\s*|\s+)(.*)$", re.S)


def schedule(ctx: PlanContext, config: SurveyConfig, plan: Plan) -> None:
    """After an agent closed a task (``plan`` did): remember to survey its
    customer, unless this task was surveyed, the customer was lately, the
    task is spam, or its channel takes no surveys."""
    task = plan.result
    if not config.enabled or not isinstance(task, Task) or task.status != Status.CLOSED:
        return
    if "spam" in task.tags or ctx.store.get_state(SURVEYS, task.id) is not None:
        return
    status = ctx.channel(task.channel)
    if status is None or not status.capabilities.outbound:
        return
    if status.capabilities.survey_form == "none" or _asked_lately(ctx, config, task):
        return
    entry = {
        "due": ctx.now + config.delay,
        "agent": ctx.actor.agent,
        "channel": task.channel,
        "customer": task.customer_id,
        "left": list(config.ask),
        "waiting": [],
        "asked_at": None,
    }
    plan.batch.state.append((SURVEYS, task.id, entry))


def due(items: list[tuple[str, Any]], now: float) -> list[str]:
    """The tasks whose survey (or its next question) is due."""
    return [key for key, entry in items if entry.get("due") is not None and entry["due"] <= now]


def plan_send(ctx: PlanContext, config: SurveyConfig, task_id: str, links: str | None) -> Plan:
    """Send the due questions of ``task_id``'s survey; ``links`` is the
    desk's public URL (None: the link form falls back to text)."""
    entry = ctx.store.get_state(SURVEYS, task_id)
    task = ctx.store.get_task(task_id)
    batch = Batch()
    if entry is None or task is None:
        return Plan(batch, [], None)
    status = ctx.channel(entry["channel"])
    first = entry["asked_at"] is None
    reopened = first and task.status != Status.CLOSED
    if reopened or status is None or (first and _asked_lately(ctx, config, task)):
        batch.state.append((SURVEYS, task_id, None))  # not sent, and never will be
        return Plan(batch, [], None)
    form = status.capabilities.survey_form
    if form == "link" and not links:
        form = "text"
    metrics = entry["left"] if form in ("link", "inline") else entry["left"][:1]
    customer = ctx.store.get_customer(task.customer_id)
    words = config.words((customer.attributes.get("language", "") if customer else "") or "")
    asks, tokens = [], []
    for metric in metrics:
        low, high = SCALES[metric]
        urls = []
        if form == "link":
            for score in range(low, high + 1):
                token = secrets.token_urlsafe(16)
                tokens.append((token, {"task": task_id, "metric": metric, "answer": None}))
                urls.append(f"{links}/survey/{token}/{score}")
        asks.append(
            SurveyAsk(
                metric=metric,
                question=words[metric].replace("{number}", str(task.number)),
                low=low,
                high=high,
                low_label=words[f"{metric}_low"],
                high_label=words[f"{metric}_high"],
                links=urls,
            )
        )
    text = "\n\n".join(_said(ask, form, words) for ask in asks)
    try:
        to = recipient(ctx, task, entry["channel"])
        message = queue_message(ctx, batch, task, text, entry["channel"], to)
    except DeskError as exc:
        log.info("%s: the survey is not sent: %s", task.label, exc.message)
        return Plan(Batch(state=[(SURVEYS, task_id, None)]), [], None)
    message.survey = asks
    left = [m for m in entry["left"] if m not in metrics]
    waiting = [*entry["waiting"], *metrics]
    spent = {**entry.get("links", {})}
    for token, value in tokens:
        spent.setdefault(value["metric"], []).append(token)
    batch.state.append(
        (SURVEYS, task_id, {**entry, "due": None, "left": left, "waiting": waiting,
                            "asked_at": ctx.now, "links": spent})
    )  # fmt: skip
    batch.state.append((ASKED, task.customer_id, ctx.now))
    batch.state.extend((LINKS, token, value) for token, value in tokens)
    return Plan(batch, [], message)


def _said(ask: SurveyAsk, form: str, words: dict[str, str]) -> str:
    reply = (
        words["reply"]
        .replace("{low}", str(ask.low))
        .replace("{high}", str(ask.high))
        .replace("{low_label}", ask.low_label)
        .replace("{high_label}", ask.high_label)
    )
    if form == "inline":
        return ask.question
    if form != "link":
        return f"{ask.question}\n{reply}"
    lines = [ask.question, words["click"]]
    for score, url in zip(range(ask.low, ask.high + 1), ask.links, strict=True):
        label = f" ({ask.low_label})" if score == ask.low else ""
        label = f" ({ask.high_label})" if score == ask.high else label
        lines.append(f"  {score}{label}: {url}")
    return "\n".join([*lines, reply])


def _asked_lately(ctx: PlanContext, config: SurveyConfig, task: Task) -> bool:
    last = ctx.store.get_state(ASKED, task.customer_id)
    return last is not None and ctx.now - last < config.customer_days * 86400


def text_answer(
    store: Store, config: SurveyConfig, customer_id: str, channel: str, text: str, now: float
) -> tuple[Task, str, int, str] | None:
    """(task, metric, score, comment) when a customer's reply answers the
    survey waiting on one of their tasks on ``channel``; None otherwise."""
    found = _ANSWER.match(text)
    if found is None:
        return None
    best: tuple[float, Task, str] | None = None
    tasks = store.tasks_of_customer(customer_id)
    for task in tasks:
        entry = store.get_state(SURVEYS, task.id)
        if not entry or not entry["waiting"] or entry["channel"] != channel:
            continue
        asked = entry["asked_at"] or 0
        if now - asked <= config.answer_days * 86400 and (best is None or asked > best[0]):
            best = (asked, task, entry["waiting"][0])
    if best is None:
        return None
    asked_at, task, metric = best
    if any(
        t.status != Status.CLOSED and t.channel == channel and t.updated_at > asked_at
        for t in tasks
    ):
        return None  # a conversation goes on there since: "2" may answer an agent
    _, task, metric = best
    score = int(found.group(1))
    low, high = SCALES.get(metric, (0, 10))
    if not low <= score <= high:
        return None
    return task, metric, score, clean_text(found.group(2), MAX_COMMENT).strip()


def answered(store: Store, batch: Batch, task_id: str, metric: str, now: float) -> str:
    """Note in ``batch`` that ``metric`` was answered on ``task_id``: the next
    question becomes due. The agent credited (empty when none was recorded)."""
    entry = store.get_state(SURVEYS, task_id)
    if entry is None:
        return ""
    waiting = [m for m in entry["waiting"] if m != metric]
    left = [m for m in entry["left"] if m != metric]
    next_due = now if left and not waiting else entry.get("due")
    batch.state.append(
        (SURVEYS, task_id, {**entry, "waiting": waiting, "left": left, "due": next_due})
    )
    return str(entry.get("agent", ""))


def plan_link_answer(ctx: PlanContext, token: str, score: int) -> Plan:
    """A click on a survey link: the answer, once; the result says what to show
    (``"recorded"``, ``"already"`` or ``"unknown"``) and the task's label."""
    link = ctx.store.get_state(LINKS, token)
    task = ctx.store.get_task(link["task"]) if link else None
    if link is None or task is None:
        return Plan(Batch(), [], ("unknown", ""))
    if link["answer"] is not None:
        return Plan(Batch(), [], ("already", task.label))
    low, high = SCALES.get(link["metric"], (0, 10))
    if not low <= score <= high:
        return Plan(Batch(), [], ("unknown", ""))
    batch = Batch()
    entry = ctx.store.get_state(SURVEYS, task.id) or {}
    agent = answered(ctx.store, batch, task.id, link["metric"], ctx.now)
    answer = SurveyAnswer(
        **ctx.event_base(task, "customer"),
        metric=link["metric"],
        score=score,
        channel=str(entry.get("channel", task.channel)),
        agent=agent,
    )
    batch.events.append(answer)
    # Every link of this question is spent by the first click.
    for key in entry.get("links", {}).get(link["metric"], [token]):
        batch.state.append((LINKS, key, {**link, "answer": answer.id}))
    return Plan(batch, [], ("recorded", task.label))


def plan_link_comment(ctx: PlanContext, token: str, comment: str) -> Plan:
    """The comment sent from the thank-you page, added to the answer once."""
    link = ctx.store.get_state(LINKS, token)
    event = ctx.store.get_event(link["answer"]) if link and link["answer"] else None
    text = clean_text(comment, MAX_COMMENT).strip()
    if not isinstance(event, SurveyAnswer) or event.comment or not text:
        return Plan(Batch(), [], False)
    return Plan(Batch(events=[evolve(event, comment=text)]), [], True)
