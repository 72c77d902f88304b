"""Support metrics: what the desk measures, and the clocks it measures with.

Pure: one fold (``TaskFold``) turns a task's events into measures, the same
for the hub's live board and for reports; ``summary`` groups measures into
rows, ``agent_time`` measures agents' time per channel. Definitions:
docs/reports.md.
"""

from .agent_time import AgentTime, agent_time, shared_time
from .calendar import ALWAYS, BusinessCalendar
from .measures import LATEST_PER_TASK, EngagedSpan, Measure, Metric
from .summary import GroupBy, Row, Timed, in_period, percentile, summarize
from .task_fold import TaskFold, is_agent

__all__ = [
    "ALWAYS",
    "LATEST_PER_TASK",
    "AgentTime",
    "BusinessCalendar",
    "EngagedSpan",
    "GroupBy",
    "Measure",
    "Metric",
    "Row",
    "TaskFold",
    "Timed",
    "agent_time",
    "in_period",
    "is_agent",
    "percentile",
    "shared_time",
    "summarize",
]
