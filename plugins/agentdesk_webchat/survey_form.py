"""A satisfaction survey as the widget shows it: the questions of an agent
message, each with the visitor's answer once given.

The questions travel with their message in the session's log (and so in the
channel's state), so a visitor who was away sees the survey when they come
back, and one who answered sees it answered after a reload or a restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import SurveyQuestion

#: Bounds on what the desk may put in front of a visitor, so a mistake in a
#: survey's configuration cannot fill the widget.
MAX_QUESTION_CHARS = 1000
MAX_LABEL_CHARS = 200
#: At most this many score buttons per question (NPS's 0-10 is 11).
MAX_POINTS = 11
MAX_QUESTIONS = 5
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(slots=True)
class PostedQuestion:
    """One question of a survey the visitor was sent, and its answer if any."""

    metric: str
    question: str
    low: int
    high: int
    low_label: str = ""
    high_label: str = ""
    answered_score: int | None = None
    answered_at: float | None = None

    @property
    def answered(self) -> bool:
        return self.answered_score is not None

    def to_frame(self) -> dict[str, Any]:
        """The question as the browser gets it inside a ``message`` frame."""
        answer = None if self.answered_score is None else {"score": self.answered_score}
        return {
            "metric": self.metric,
            "question": self.question,
            "low": self.low,
            "high": self.high,
            "low_label": self.low_label,
            "high_label": self.high_label,
            "answer": answer,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "question": self.question,
            "low": self.low,
            "high": self.high,
            "low_label": self.low_label,
            "high_label": self.high_label,
            "score": self.answered_score,
            "answered_at": self.answered_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostedQuestion:
        score = data.get("score")
        at = data.get("answered_at")
        return cls(
            metric=str(data["metric"]),
            question=str(data["question"]),
            low=int(data["low"]),
            high=int(data["high"]),
            low_label=str(data.get("low_label", "")),
            high_label=str(data.get("high_label", "")),
            answered_score=int(score) if score is not None else None,
            answered_at=float(at) if at is not None else None,
        )


def posted_questions(survey: Sequence[SurveyQuestion]) -> list[PostedQuestion]:
    """The questions of ``Outbound.survey`` as the widget will show them.

    Raises ``ValueError`` saying what is wrong with a question the widget
    cannot show (a range of no or too many scores, a metric asked twice).
    """
    if len(survey) > MAX_QUESTIONS:
        raise ValueError(f"a survey has at most {MAX_QUESTIONS} questions, got {len(survey)}")
    posted: list[PostedQuestion] = []
    for question in survey:
        metric = question.metric
        where = f"survey question {metric!r}" if isinstance(metric, str) else "survey question"
        if not isinstance(metric, str) or not _METRIC.match(metric):
            raise ValueError(f"{where}: the metric must be a short lower-case name")
        if any(other.metric == metric for other in posted):
            raise ValueError(f"{where} is asked twice")
        low, high = question.low, question.high
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            raise ValueError(f"{where}: low and high must be whole numbers")
        if not 1 <= high - low < MAX_POINTS:
            raise ValueError(f"{where}: {low} to {high} is not a scale of 2 to {MAX_POINTS} scores")
        text = question.question
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where} has no text")
        if len(text) > MAX_QUESTION_CHARS:
            raise ValueError(f"{where} is longer than {MAX_QUESTION_CHARS} characters")
        for label in (question.low_label, question.high_label):
            if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS:
                raise ValueError(
                    f"{where}: labels are text of {MAX_LABEL_CHARS} characters at most"
                )
        posted.append(
            PostedQuestion(
                metric=metric,
                question=text,
                low=low,
                high=high,
                low_label=question.low_label,
                high_label=question.high_label,
            )
        )
    return posted
