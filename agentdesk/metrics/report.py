"""A whole report from a store: the full pass, grouped, with agents' time.

What ``agentdesk report`` prints, whether it reads the store itself or asks a
hub (whose desk runs this on a connection of its own).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agentdesk.api.report import ReportData
from agentdesk.store import Store

from .calendar import BusinessCalendar
from .history import Progress, collect
from .summary import GroupBy, summarize


def build_report(
    store: Store,
    calendar: BusinessCalendar,
    by: GroupBy,
    *,
    since: float,
    until: float,
    progress: Progress | None = None,
) -> ReportData:
    """The figures of [since, until) grouped ``by``, and each agent's time
    there (agents with none left out)."""
    zone = ZoneInfo(calendar.timezone)
    collected = collect(store, calendar, until=until, activity_since=since, progress=progress)
    rows = summarize(collected.measures, by, since=since, until=until, zone=zone)
    agents = {
        name: time
        for name, time in collected.agent_times(since, until).items()
        if time.online or time.engaged or time.focus
    }
    return ReportData(
        by=str(by), since=since, until=until, zone=calendar.timezone, rows=rows, agents=agents
    )
