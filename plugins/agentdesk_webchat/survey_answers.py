"""Visitors' answers to the satisfaction surveys in their chat, checked and
handed to the desk as ``InboundSurvey``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from agentdesk.plugin import Inbound, InboundSurvey

from . import protocol
from .history import AGENT, History, LogEntry
from .live import Connection, LiveSessions
from .protocol import ProtocolError
from .survey_form import PostedQuestion


class SurveyAnswers:
    """Takes one question's answer at a time; each question is answered once."""

    def __init__(
        self,
        *,
        history: History,
        live: LiveSessions,
        emit: Callable[[Inbound], Awaitable[None]],
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.history = history
        self.live = live
        self.emit = emit
        self.logger = logger
        self.clock = clock

    async def answer(self, connection: Connection, frame: protocol.SurveyAnswer) -> None:
        """Record the answer and tell every tab of the session it is answered.

        Raises ``ProtocolError`` for an answer that cannot be taken: no such
        survey in this session, no such question, a score off the scale, or
        a question already answered.
        """
        session_id = connection.session_id
        where = {"survey": frame.message_id, "metric": frame.metric}
        async with self.history.locked(session_id) as record:
            entry = record.find(AGENT, frame.message_id) if record is not None else None
            if record is None or entry is None or not entry.survey:
                raise ProtocolError(
                    "there is no such survey in this chat", code="bad_survey", extra=where
                )
            question = _question(entry, frame.metric)
            if question is None:
                raise ProtocolError(
                    f"this survey has no question {frame.metric[:40]!r}",
                    code="bad_survey",
                    extra=where,
                )
            if question.answered_score is not None:
                raise ProtocolError(
                    "this question is already answered",
                    code="survey_answered",
                    extra={**where, "score": question.answered_score},
                )
            if not question.low <= frame.score <= question.high:
                raise ProtocolError(
                    f"the score must be {question.low} to {question.high}",
                    code="bad_survey",
                    extra=where,
                )
            now = self.clock()
            # Emitted before it is kept, as messages are: if keeping fails the
            # browser sends it again and the external id lets the desk drop it.
            await self.emit(
                InboundSurvey(
                    identity=session_id,
                    metric=question.metric,
                    score=frame.score,
                    comment=frame.comment,
                    task_number=entry.task_number,
                    external_id=f"{entry.message_id}:{question.metric}",
                    at=now,
                )
            )
            question.answered_score, question.answered_at = frame.score, now
            try:
                await self.history.save_entry(record, entry)
            except BaseException:
                # Not kept: the question stays open, so the resend is taken.
                question.answered_score = question.answered_at = None
                raise
        self.live.broadcast(
            session_id, protocol.survey_answered(entry.message_id, question.metric, frame.score)
        )


def answered_frames(entry: LogEntry) -> list[str]:
    """``survey_answered`` frames for the entry's answered questions: for a
    browser that already has the message but may have missed the answers."""
    return [
        protocol.survey_answered(entry.message_id, question.metric, question.answered_score)
        for question in entry.survey
        if question.answered_score is not None
    ]


def _question(entry: LogEntry, metric: str) -> PostedQuestion | None:
    return next((q for q in entry.survey if q.metric == metric), None)
