"""``agentdesk report``: the desk's figures over a period, from the store or a hub.

Every figure comes from ``agentdesk.metrics``, the fold the hub's live board
runs too, so the two give the same numbers for the same period. The store is
opened read-only (a report runs beside a running hub); with ``--hub`` the
hub's desk computes it, for a lead's token.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from agentdesk.api import DeskError
from agentdesk.api import requests as rq
from agentdesk.api.report import ReportData

from .base import CommandError, Invocation, open_store
from .hub_target import HubTarget, add_hub_arguments, hub_target, tool_client
from .report_render import Report, as_csv, as_json, tables

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def add_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="figures over a period: first response, resolution, agent time..."
    )
    report.add_argument(
        "--since", default="7d", help="start: 7d, 24h, 30m, 2w ago, or a date (2026-11-01)"
    )
    report.add_argument("--until", default=None, help="end (default: now), same forms")
    report.add_argument(
        "--by", choices=["channel", "agent", "team", "day"], default="channel", help="rows"
    )
    report.add_argument("--format", choices=["table", "csv", "json"], default="table")
    report.add_argument(
        "--business",
        action="store_true",
        help="durations in business hours ([business_hours] in the config), pending cut out",
    )
    report.add_argument("--chart", action="store_true", help="bars of handled tasks per row")
    add_hub_arguments(report)
    report.set_defaults(handler=run_report)


def parse_moment(text: str, now: float, zone: ZoneInfo) -> float:
    """A moment given as a span back from ``now`` (7d) or a local date/time."""
    given = text.strip()
    relative = _RELATIVE.match(given)
    if relative:
        return now - float(relative.group(1)) * _UNIT[relative.group(2)]
    try:
        moment = datetime.datetime.fromisoformat(given)
    except ValueError:
        raise CommandError(
            f"{text!r} is not a moment: write 7d, 24h, 30m, 2w, or a date like 2026-11-01"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def run_report(inv: Invocation) -> int:
    args = inv.args
    calendar = inv.config.business_hours
    zone = ZoneInfo(calendar.timezone)
    now = time.time()
    since = parse_moment(args.since, now, zone)
    until = parse_moment(args.until, now, zone) if args.until else now
    if until <= since:
        raise CommandError("--until must come after --since")
    target = hub_target(inv, from_config=False)
    if target is not None:
        data = asyncio.run(_from_hub(target, args.by, since, until))
    else:
        data = _from_store(inv, args, since, until)
    report = Report(data=data, clock="business" if args.business else "calendar")
    if args.format == "csv":
        sys.stdout.write(as_csv(report))
    elif args.format == "json":
        print(as_json(report))
    else:
        _print_tables(report, chart=args.chart, zone=ZoneInfo(data.zone))
    return 0


def _from_store(inv: Invocation, args: Any, since: float, until: float) -> ReportData:
    from agentdesk.metrics import GroupBy
    from agentdesk.metrics.report import build_report

    store = open_store(inv.store_path, read_only=True)
    try:
        with _Progress(args.format == "table") as progress:
            return build_report(
                store,
                inv.config.business_hours,
                GroupBy(args.by),
                since=since,
                until=until,
                progress=progress,
                sla=inv.config.sla,
            )
    finally:
        store.close()


async def _from_hub(target: HubTarget, by: str, since: float, until: float) -> ReportData:
    """The hub's desk computes it (in business hours by its own calendar)."""
    async with tool_client(target) as client:
        try:
            data: ReportData = await client.request(rq.GetReport(since=since, until=until, by=by))
        except DeskError as exc:
            raise CommandError(str(exc)) from None
    return data


def _print_tables(report: Report, *, chart: bool, zone: ZoneInfo) -> None:
    from rich.console import Console

    console = Console()
    shown = "%Y-%m-%d %H:%M"
    start = datetime.datetime.fromtimestamp(report.data.since, zone).strftime(shown)
    end = datetime.datetime.fromtimestamp(report.data.until, zone).strftime(shown)
    console.print(f"[bold]{start} -> {end}[/] ({zone.key})")
    if not report.rows:
        console.print("Nothing happened in this period.")
        return
    for renderable in tables(report, chart=chart):
        console.print(renderable)


class _Progress:
    """A progress bar on stderr while the history is read (tables only, on a terminal)."""

    def __init__(self, wanted: bool) -> None:
        self._wanted = wanted and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self._wanted:
            return None
        from rich.progress import Progress

        self._bar = Progress(transient=True, console=_stderr())
        self._bar.start()
        self._task = self._bar.add_task("reading the history", total=None)
        return self._advance

    def _advance(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)
