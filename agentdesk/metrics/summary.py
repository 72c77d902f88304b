"""Measures grouped into rows: the figures a board or a report shows.

Counts, and percentiles by nearest rank (the p90 of ten values is the ninth
smallest), over the measures completed inside a period.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from enum import StrEnum
from zoneinfo import ZoneInfo

from agentdesk.api.report import Row, Timed

from .measures import LATEST_PER_TASK, Measure, Metric

NONE_KEY = "-"
COUNTED = (Metric.RECEIVED, Metric.HANDLED, Metric.TRANSFER, Metric.HANDOFF, Metric.REOPEN)
TIMED = (
    Metric.FIRST_RESPONSE,
    Metric.REPLY,
    Metric.FIRST_RESOLUTION,
    Metric.FULL_RESOLUTION,
    Metric.WAITING,
    Metric.HANDLE,
)


class GroupBy(StrEnum):
    CHANNEL = "channel"
    AGENT = "agent"
    TEAM = "team"
    DAY = "day"


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0..1) of ``values``, None when empty."""
    return _ranked(sorted(values), q)


def _ranked(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed_of(measures: list[Measure]) -> Timed:
    """One timed metric's figures over a group of its measures."""
    seconds = sorted(m.seconds for m in measures if m.seconds is not None)
    business = sorted(m.business for m in measures if m.business is not None)
    return Timed(
        len(measures),
        _ranked(seconds, 0.5),
        _ranked(seconds, 0.9),
        _ranked(business, 0.5),
        _ranked(business, 0.9),
    )


def in_period(measures: Iterable[Measure], since: float, until: float) -> list[Measure]:
    """The measures completed in [since, until); of a metric where only a
    task's latest counts, the earlier ones are dropped first."""
    latest: dict[tuple[Metric, str], Measure] = {}
    kept: list[Measure] = []
    keep, last_only = kept.append, LATEST_PER_TASK
    for measure in measures:
        if measure.metric in last_only:
            key = (measure.metric, measure.task_id)
            held = latest.get(key)
            if held is None or measure.at >= held.at:
                latest[key] = measure
        elif since <= measure.at < until:
            keep(measure)
    kept.extend(m for m in latest.values() if since <= m.at < until)
    return kept


def group_key(measure: Measure, by: GroupBy, zone: ZoneInfo) -> str:
    return key_function(by, zone)(measure)


def key_function(by: GroupBy, zone: ZoneInfo) -> Callable[[Measure], str]:
    """What a measure is grouped by, chosen once for a whole summary."""
    if by == GroupBy.CHANNEL:
        return lambda m: m.channel or NONE_KEY
    if by == GroupBy.AGENT:
        return lambda m: m.agent or NONE_KEY
    if by == GroupBy.TEAM:
        return lambda m: m.team or NONE_KEY
    days: dict[int, str] = {}

    def day(measure: Measure) -> str:
        # Zones change offset on the quarter hour at most: one date per quarter.
        quarter = int(measure.at // 900)
        found = days.get(quarter)
        if found is None:
            found = days[quarter] = (
                datetime.datetime.fromtimestamp(measure.at, zone).date().isoformat()
            )
        return found

    return day


#: The measures a service-level target holds, by the clock's name.
SLA_CLOCKS = {
    Metric.FIRST_RESPONSE: "first_response",
    Metric.REPLY: "next_reply",
    Metric.FULL_RESOLUTION: "resolution",
}
#: The business seconds a measure was allowed (None: no target held it).
Allowed = Callable[[Measure], float | None]


def summarize(
    measures: Iterable[Measure],
    by: GroupBy,
    *,
    since: float,
    until: float,
    zone: ZoneInfo,
    allowed: Allowed | None = None,
) -> list[Row]:
    """One row per group (sorted by key), over the measures of the period.
    With ``allowed``, the rows count for each held clock how many measures
    had a target (``<clock>_sla``) and how many met it (``<clock>_sla_met``)."""
    groups: dict[str, dict[Metric, list[Measure]]] = defaultdict(lambda: defaultdict(list))
    key_of = key_function(by, zone)
    for measure in in_period(measures, since, until):
        groups[key_of(measure)][measure.metric].append(measure)
    rows = []
    for key in sorted(groups):
        by_metric = groups[key]
        row = Row(key)
        for metric in COUNTED:
            row.counts[metric] = len(by_metric.get(metric, []))
        for metric in TIMED:
            row.timed[metric] = timed_of(by_metric.get(metric, []))
        if allowed is not None:
            _attainment(row, by_metric, allowed)
        _surveys(row, by_metric)
        rows.append(row)
    return rows


#: Scores that count as satisfied (CSAT 4-5) and as easy (CES 5-7).
GOOD_SCORES = {Metric.CSAT: 4, Metric.CES: 5}


def _surveys(row: Row, by_metric: dict[Metric, list[Measure]]) -> None:
    """``csat``/``ces``: answers; ``_good``: the satisfied or easy ones;
    ``_sum``: the scores added up (a mean is ``_sum`` over the count)."""
    for metric, good in GOOD_SCORES.items():
        scores = [m.score for m in by_metric.get(metric, []) if m.score is not None]
        if not scores:
            continue
        row.counts[str(metric)] = len(scores)
        row.counts[f"{metric}_good"] = sum(score >= good for score in scores)
        row.counts[f"{metric}_sum"] = sum(scores)


def _attainment(row: Row, by_metric: dict[Metric, list[Measure]], allowed: Allowed) -> None:
    for metric, clock in SLA_CLOCKS.items():
        held = met = 0
        for measure in by_metric.get(metric, []):
            target = allowed(measure)
            if target is None or measure.business is None:
                continue
            held += 1
            met += measure.business <= target
        row.counts[f"{clock}_sla"] = held
        row.counts[f"{clock}_sla_met"] = met
