"""The time each agent spends on each channel, two ways.

*Focus*: the task on the agent's screen (the console reports each change).
*Engaged*: every open conversation assigned to the agent holds the clock; when
several run at once the agent's time is shared equally among them, so an
agent on one chat and one email for an hour has spent 30 minutes on each.
Both count only while the agent is online. Per-channel figures are never
added up into a total: the agent's total is their online (wall) time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from agentdesk.api.report import AgentTime
from agentdesk.domain import Activity, ActivityKind

from .measures import EngagedSpan

Interval = tuple[float, float]


def online_intervals(activity: Iterable[Activity], until: float) -> list[Interval]:
    """When the agent was online, from their presence records (time order);
    an agent still online is so until ``until``."""
    intervals: list[Interval] = []
    since: float | None = None
    for record in activity:
        if record.kind != ActivityKind.PRESENCE:
            continue
        if record.value == "online":
            if since is None:
                since = record.at
        elif since is not None:
            intervals.append((since, record.at))
            since = None
    if since is not None and since < until:
        intervals.append((since, until))
    return intervals


def focus_intervals(activity: Iterable[Activity], until: float) -> list[tuple[str, Interval]]:
    """(channel, interval) for each stretch a task was on the agent's screen.
    Going offline clears the screen."""
    found: list[tuple[str, Interval]] = []
    current: tuple[str, float] | None = None
    for record in activity:
        ends_focus = record.kind == ActivityKind.FOCUS or (
            record.kind == ActivityKind.PRESENCE and record.value == "offline"
        )
        if not ends_focus:
            continue
        if current is not None:
            found.append((current[0], (current[1], record.at)))
            current = None
        if record.kind == ActivityKind.FOCUS and record.value:
            current = (record.channel, record.at)
    if current is not None and current[1] < until:
        found.append((current[0], (current[1], until)))
    return found


def clip(interval: Interval, windows: list[Interval]) -> list[Interval]:
    """The parts of ``interval`` inside ``windows`` (sorted, disjoint)."""
    start, end = interval
    parts = []
    for lo, hi in windows:
        if hi <= start:
            continue
        if lo >= end:
            break
        parts.append((max(lo, start), min(hi, end)))
    return parts


def shared_time(spans: Iterable[tuple[str, Interval]]) -> dict[str, float]:
    """Seconds per channel when each moment is shared equally among the
    stretches running then (a sweep over their ends)."""
    edges: list[tuple[float, int, str]] = []
    for channel, (start, end) in spans:
        if end > start:
            edges.append((start, 1, channel))
            edges.append((end, -1, channel))
    edges.sort(key=lambda edge: (edge[0], edge[1]))
    totals: dict[str, float] = defaultdict(float)
    running: dict[str, int] = defaultdict(int)
    count = 0
    last = 0.0
    for at, step, channel in edges:
        if count and at > last:
            share = (at - last) / count
            for name, n in running.items():
                if n:
                    totals[name] += share * n
        running[channel] += step
        count += step
        last = at
    return dict(totals)


def agent_time(
    activity: list[Activity],
    spans: Iterable[EngagedSpan],
    *,
    since: float,
    until: float,
) -> AgentTime:
    """One agent's online time and per-channel focus and engaged time
    between ``since`` and ``until``."""
    period = [(since, until)]
    online = [part for iv in online_intervals(activity, until) for part in clip(iv, period)]
    result = AgentTime(online=sum(end - start for start, end in online))
    engaged = [
        (span.channel, part) for span in spans for part in clip((span.start, span.end), online)
    ]
    result.engaged = shared_time(engaged)
    focus: dict[str, float] = defaultdict(float)
    for channel, interval in focus_intervals(activity, until):
        for start, end in clip(interval, online):
            focus[channel] += end - start
    result.focus = dict(focus)
    return result
