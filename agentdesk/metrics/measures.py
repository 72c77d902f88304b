"""What the metrics fold emits: one ``Measure`` per thing that happened.

Every figure of the board, the reports and the exports is a count or a
percentile over measures, so there is one way to compute each of them. A
measure is attributed to the moment it was *completed*: a first response
counts on the day it was given, a resolution on the day of the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Metric(StrEnum):
    #: A task was created (the customer's first contact).
    RECEIVED = "received"
    #: A task was closed by an agent; ``agent`` is who closed it.
    HANDLED = "handled"
    #: Creation or reopening -> the first public reply by an agent.
    FIRST_RESPONSE = "first_response"
    #: The first unanswered customer message -> the reply that answers it.
    REPLY = "reply"
    #: Creation -> the first close.
    FIRST_RESOLUTION = "first_resolution"
    #: Creation -> the last close (a later close replaces an earlier one).
    FULL_RESOLUTION = "full_resolution"
    #: Open and unassigned, from entering the queue to leaving it.
    WAITING = "waiting"
    #: Open and assigned, summed over the task's life, counted at each close.
    HANDLE = "handle"
    TRANSFER = "transfer"
    HANDOFF = "handoff"
    REOPEN = "reopen"
    #: A survey answer; ``score`` is the customer's, ``agent`` who closed the task.
    CSAT = "csat"
    CES = "ces"


#: Metrics of which only a task's latest measure counts.
LATEST_PER_TASK = frozenset({Metric.FULL_RESOLUTION, Metric.HANDLE})


# Not frozen: a report makes a million of these, and a frozen dataclass's
# __init__ costs twice as much (nothing changes them after they are made).
@dataclass(slots=True)
class Measure:
    metric: Metric
    #: When it was completed (Unix time): what a period filters on.
    at: float
    task_id: str
    #: The channel kind ("chat", "email"...) the task was on at that moment.
    channel: str
    #: The agent it is credited to, when there is one.
    agent: str | None = None
    team: str | None = None
    #: The duration in calendar seconds, for the timed metrics.
    seconds: float | None = None
    #: The same duration in business hours, pending periods cut out.
    business: float | None = None
    #: A survey's score.
    score: int | None = None


@dataclass(slots=True)
class EngagedSpan:
    """A stretch during which an open task was assigned to ``agent``; the
    agent-time sweep shares the agent's clock among the spans that overlap."""

    agent: str
    task_id: str
    channel: str
    start: float
    end: float
