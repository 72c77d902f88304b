"""How a report is written out: a Rich table (with bars), CSV or JSON.

The figures come from ``agentdesk.metrics``; this module only lays them out.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from agentdesk.api.report import AgentTime, ReportData, Row, Timed
from agentdesk.metrics import Metric

#: (column, metric, which figure) for the timed columns, in order.
TIMED_COLUMNS: tuple[tuple[str, Metric], ...] = (
    ("first response", Metric.FIRST_RESPONSE),
    ("reply", Metric.REPLY),
    ("first resolution", Metric.FIRST_RESOLUTION),
    ("full resolution", Metric.FULL_RESOLUTION),
    ("waiting", Metric.WAITING),
    ("handle", Metric.HANDLE),
)
COUNT_COLUMNS: tuple[tuple[str, Metric], ...] = (
    ("received", Metric.RECEIVED),
    ("handled", Metric.HANDLED),
    ("transfers", Metric.TRANSFER),
    ("handoffs", Metric.HANDOFF),
    ("reopens", Metric.REOPEN),
)
#: (column, clock) of the service-level columns: the share of measures held
#: to a target that met it.
SLA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("first response", "first_response"),
    ("next reply", "next_reply"),
    ("resolution", "resolution"),
)
BAR_WIDTH = 40


def attainment(row: Row, clock: str) -> float | None:
    """The share of ``clock``'s measures in ``row`` that met their target."""
    held = row.count(f"{clock}_sla")
    return row.count(f"{clock}_sla_met") / held if held else None


@dataclass(frozen=True, slots=True)
class Report:
    """The desk's figures, and which durations to show of them."""

    data: ReportData
    #: "calendar" or "business".
    clock: str

    @property
    def by(self) -> str:
        return self.data.by

    @property
    def rows(self) -> list[Row]:
        return self.data.rows

    @property
    def agents(self) -> dict[str, AgentTime]:
        return self.data.agents


def duration(seconds: float | None) -> str:
    """A duration people read at a glance: 42s, 4m 10s, 1h 05m, 3d 2h."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _pair(timed: Timed, clock: str) -> tuple[float | None, float | None]:
    if clock == "business":
        return timed.business_p50, timed.business_p90
    return timed.p50, timed.p90


def flat_row(row: Row, clock: str) -> dict[str, Any]:
    """One row as plain values (seconds as numbers): what CSV and JSON carry."""
    out: dict[str, Any] = {"key": row.key}
    for name, metric in COUNT_COLUMNS:
        out[name.replace(" ", "_")] = row.count(metric)
    for name, metric in TIMED_COLUMNS:
        p50, p90 = _pair(row.time(metric), clock)
        base = name.replace(" ", "_")
        out[f"{base}_p50"] = p50
        out[f"{base}_p90"] = p90
    out["reopen_rate"] = row.reopen_rate
    for _, clock in SLA_COLUMNS:
        out[f"{clock}_sla_met"] = attainment(row, clock)
    out["csat_answers"] = row.count("csat")
    out["csat"] = row.csat
    out["ces_answers"] = row.count("ces")
    out["ces_mean"] = row.ces_mean
    out["ces_easy"] = row.ces_easy
    return out


def as_csv(report: Report) -> str:
    rows = [flat_row(row, report.clock) for row in report.rows]
    buffer = io.StringIO()
    fields = list(rows[0]) if rows else ["key"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "by": report.by,
            "since": report.data.since,
            "until": report.data.until,
            "zone": report.data.zone,
            "clock": report.clock,
            "rows": [flat_row(row, report.clock) for row in report.rows],
            "agents": {
                name: {"online": t.online, "focus": t.focus, "engaged": t.engaged}
                for name, t in report.agents.items()
            },
        },
        indent=2,
    )


def tables(report: Report, *, chart: bool) -> list[Any]:
    """The Rich renderables of a report: counts, times, then agent time.
    Each fits 80 columns: a time cell is its p50 over its p90."""
    from rich.table import Table

    counts = Table(title=f"tasks by {report.by}", title_justify="left")
    counts.add_column(report.by, no_wrap=True, min_width=6)
    for name, _ in COUNT_COLUMNS:
        counts.add_column(name, justify="right", min_width=len(name))
    counts.add_column("reopen\nrate", justify="right")
    for row in report.rows:
        rate = row.reopen_rate
        cells = [row.key, *(str(row.count(metric)) for _, metric in COUNT_COLUMNS)]
        cells.append("-" if rate is None else f"{rate:.0%}")
        counts.add_row(*cells)
    times = Table(
        title=f"times by {report.by}, {report.clock} time: p50 over p90",
        title_justify="left",
    )
    times.add_column(report.by, no_wrap=True, min_width=6)
    for name, _ in TIMED_COLUMNS:
        times.add_column(name, justify="right")
    for row in report.rows:
        cells = [row.key]
        for _, metric in TIMED_COLUMNS:
            p50, p90 = _pair(row.time(metric), report.clock)
            cells.append(f"{duration(p50)}\n[dim]{duration(p90)}[/]")
        times.add_row(*cells)
    out: list[Any] = [counts, times]
    if any(row.count(f"{clock}_sla") for row in report.rows for _, clock in SLA_COLUMNS):
        out.append(sla_table(report))
    if any(row.count("csat") or row.count("ces") for row in report.rows):
        out.append(survey_table(report))
    if chart:
        out.append(chart_table(report))
    if report.agents:
        out.append(agent_table(report.agents))
    return out


def sla_table(report: Report) -> Any:
    """Service-level targets met, per row: the share, and of how many."""
    from rich.table import Table

    table = Table(title=f"service-level targets met by {report.by}", title_justify="left")
    table.add_column(report.by, no_wrap=True, min_width=6)
    for name, _ in SLA_COLUMNS:
        table.add_column(name, justify="right")
    for row in report.rows:
        cells = [row.key]
        for _, clock in SLA_COLUMNS:
            share = attainment(row, clock)
            held = row.count(f"{clock}_sla")
            cells.append("-" if share is None else f"{share:.0%} of {held}")
        table.add_row(*cells)
    return table


def survey_table(report: Report) -> Any:
    """What customers said: CSAT (share of 4-5) and CES (mean, share of 5-7)."""
    from rich.table import Table

    table = Table(title=f"customer surveys by {report.by}", title_justify="left")
    table.add_column(report.by, no_wrap=True, min_width=6)
    for name in ("CSAT\n4-5", "CES\nmean", "CES\n5-7"):
        table.add_column(name, justify="right")
    for row in report.rows:
        csat, mean, easy = row.csat, row.ces_mean, row.ces_easy
        table.add_row(
            row.key,
            "-" if csat is None else f"{csat:.0%} of {row.count('csat')}",
            "-" if mean is None else f"{mean:.1f}",
            "-" if easy is None else f"{easy:.0%} of {row.count('ces')}",
        )
    return table


def chart_table(report: Report) -> Any:
    """Received and handled per row as bars, on one scale."""
    from rich.table import Table

    table = Table(title=f"received and handled by {report.by}", title_justify="left", box=None)
    table.add_column(report.by, no_wrap=True)
    table.add_column("", no_wrap=True)
    most = max((row.count(Metric.RECEIVED) for row in report.rows), default=0)
    most = max(most, *(row.count(Metric.HANDLED) for row in report.rows))
    for row in report.rows:
        received = bar(row.count(Metric.RECEIVED), most)
        handled = bar(row.count(Metric.HANDLED), most)
        table.add_row(
            row.key, f"[cyan]{received or '0'}[/] received\n[green]{handled or '0'}[/] handled"
        )
    return table


def agent_table(agents: dict[str, AgentTime]) -> Any:
    from rich.table import Table

    channels = sorted({c for t in agents.values() for c in (*t.focus, *t.engaged)})
    table = Table(
        title="time per channel: focus over engaged (never added up; online is the total)",
        title_justify="left",
    )
    table.add_column("agent", no_wrap=True)
    table.add_column("online", justify="right")
    for channel in channels:
        table.add_column(channel, justify="right")
    for name, time in agents.items():
        cells = [name, duration(time.online)]
        for channel in channels:
            focus, engaged = time.focus.get(channel), time.engaged.get(channel)
            cells.append("-" if focus is None and engaged is None else _both(focus, engaged))
        table.add_row(*cells)
    return table


def _both(focus: float | None, engaged: float | None) -> str:
    return f"{duration(focus or 0)}\n[dim]{duration(engaged or 0)}[/]"


def bar(value: int, most: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` against ``most``, in eighths of a cell."""
    if most <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / most * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if not rest else "▏▎▍▌▋▊▉"[rest - 1]) + f" {value}"
