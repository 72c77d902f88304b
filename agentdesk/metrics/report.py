"""A whole report from a store: the full pass, grouped, with agents' time.

What ``agentdesk report`` prints, whether it reads the store itself or asks a
hub (whose desk runs this on a connection of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from agentdesk.api.report import ReportData
from agentdesk.store import Store

from .calendar import BusinessCalendar
from .history import Collected, Progress, collect
from .measures import Measure
from .sla import SlaPolicy
from .summary import SLA_CLOCKS, Allowed, GroupBy, summarize


def _allowed(policy: SlaPolicy, priorities: Mapping[str, str]) -> Allowed:
    def allowed(measure: Measure) -> float | None:
        target = policy.target_for(measure.channel, priorities.get(measure.task_id, "normal"))
        return getattr(target, SLA_CLOCKS[measure.metric]) if target is not None else None

    return allowed


def build_report(
    store: Store,
    calendar: BusinessCalendar,
    by: GroupBy,
    *,
    since: float,
    until: float,
    progress: Progress | None = None,
    sla: SlaPolicy | None = None,
) -> ReportData:
    """The figures of [since, until) grouped ``by``, and each agent's time
    there (agents with none left out); with ``sla``, how often its targets
    were met (a task is held to the target of its priority now)."""
    collected = collect(store, calendar, until=until, activity_since=since, progress=progress)
    priorities: Mapping[str, str] = {}
    if sla is not None and sla.targets:
        priorities = {task.id: str(task.priority) for task in store.tasks()}
    return report_of(
        collected, calendar, by, since=since, until=until, sla=sla, priorities=priorities
    )


def report_of(
    collected: Collected,
    calendar: BusinessCalendar,
    by: GroupBy,
    *,
    since: float,
    until: float,
    sla: SlaPolicy | None = None,
    priorities: Mapping[str, str] | None = None,
) -> ReportData:
    """A report from what a full pass collected, or the hub's live figures
    hold (``LiveMetrics.collected``): the same sums either way."""
    zone = ZoneInfo(calendar.timezone)
    allowed = None
    if sla is not None and sla.targets:
        allowed = _allowed(sla, priorities or {})
    rows = summarize(collected.measures, by, since=since, until=until, zone=zone, allowed=allowed)
    agents = {
        name: time
        for name, time in collected.agent_times(since, until).items()
        if time.online or time.engaged or time.focus
    }
    return ReportData(
        by=str(by), since=since, until=until, zone=calendar.timezone, rows=rows, agents=agents
    )
