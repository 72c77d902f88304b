"""The full pass: every task's events through the fold, for reports.

Reads the store as it is (events task by task, in time order), so memory
holds one task's fold at a time plus what it emitted. The hub's live board
runs the same fold batch by batch (``live.py``).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from agentdesk.domain import Activity
from agentdesk.store import Store

from .agent_time import AgentTime, agent_time
from .calendar import BusinessCalendar
from .measures import EngagedSpan, Measure
from .task_fold import TaskFold

#: How far before a period presence is read back, to know who was online
#: when it began (an agent online longer than this counts from its start).
PRESENCE_LOOKBACK = 86400.0

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Collected:
    measures: list[Measure] = field(default_factory=list)
    spans: list[EngagedSpan] = field(default_factory=list)
    activity: dict[str, list[Activity]] = field(default_factory=lambda: defaultdict(list))

    def agent_times(self, since: float, until: float) -> dict[str, AgentTime]:
        """Each agent's online, focus and engaged time in [since, until)."""
        spans: dict[str, list[EngagedSpan]] = defaultdict(list)
        for span in self.spans:
            spans[span.agent].append(span)
        agents = sorted(set(spans) | set(self.activity))
        return {
            agent: agent_time(
                self.activity.get(agent, []), spans.get(agent, []), since=since, until=until
            )
            for agent in agents
        }


def collect(
    store: Store,
    calendar: BusinessCalendar,
    *,
    until: float,
    activity_since: float = 0.0,
    progress: Progress | None = None,
) -> Collected:
    """Fold every task's history; stretches still running end at ``until``."""
    # A report makes a million small objects that live to its end: the cyclic
    # collector would walk them again and again (1.3-1.5 s at 1M events).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _collect(
            store, calendar, until=until, activity_since=activity_since, progress=progress
        )
    finally:
        if was_enabled:
            gc.enable()


def _collect(
    store: Store,
    calendar: BusinessCalendar,
    *,
    until: float,
    activity_since: float,
    progress: Progress | None,
) -> Collected:
    total = store.stats().events
    out = Collected()
    fold: TaskFold | None = None
    for done, event in enumerate(store.iter_events(), 1):
        if fold is None or fold.task_id != event.task_id:
            _finish(fold, out, until)
            fold = TaskFold(
                event.task_id,
                channel="",
                team=None,
                calendar=calendar,
                emit=out.measures.append,
                span=out.spans.append,
            )
        fold.add(event)
        if progress is not None and done % 10_000 == 0:
            progress(done, total)
    _finish(fold, out, until)
    for record in store.iter_activity(max(0.0, activity_since - PRESENCE_LOOKBACK)):
        out.activity[record.agent].append(record)
    if progress is not None:
        progress(total, total)
    return out


def _finish(fold: TaskFold | None, out: Collected, until: float) -> None:
    if fold is not None:
        running = fold.open_span(until)
        if running is not None:
            out.spans.append(running)
