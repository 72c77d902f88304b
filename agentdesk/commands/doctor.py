"""``agentdesk doctor``: check config, store, search index and plugins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentdesk.core.config import Config
from agentdesk.store import StoreError

from .base import Invocation, open_store


@dataclass(slots=True)
class Check:
    area: str
    ok: bool
    detail: str
    warning: bool = False


def add_parser(sub: Any) -> None:
    doctor = sub.add_parser("doctor", help="check config, store, search index and plugins")
    doctor.set_defaults(handler=run_doctor)


def config_checks(config: Config | None, error: str | None) -> list[Check]:
    if config is None:
        return [Check("config", False, error or "not loaded")]
    channels = len(config.channels)
    return [Check("config", True, f"{config.source}: agent {config.agent!r}, {channels} channels")]


def store_checks(inv: Invocation) -> list[Check]:
    checks: list[Check] = []
    if (
        not (inv.store_path / "agentdesk.sqlite").exists()
        and not (inv.store_path / "manifest.json").exists()
    ):
        detail = f"{inv.store_path}: no store yet (made when the console first opens it)"
        return [Check("store", True, detail, warning=True)]
    try:
        # Read-only: the doctor also examines the store of a running console.
        store = open_store(inv.store_path, read_only=True)
    except StoreError as exc:
        return [Check("store", False, str(exc))]
    try:
        stats = store.stats()
        open_, pending = (
            stats.tasks_by_status.get("open", 0),
            stats.tasks_by_status.get("pending", 0),
        )
        checks.append(
            Check(
                "store",
                True,
                f"{inv.store_path}: {stats.customers} customers, {open_} open and {pending}"
                f" pending tasks, {stats.events} events",
            )
        )
        for warning in getattr(store, "warnings", []):
            checks.append(Check("store", True, warning, warning=True))
        outbox = store.outbox()
        if outbox:
            stuck = [e for e in outbox if e.attempts > 0]
            detail = f"{len(outbox)} replies waiting to be delivered"
            if stuck:
                detail += f"; {len(stuck)} retried, last error: {stuck[0].last_error}"
            checks.append(Check("outbox", True, detail, warning=bool(stuck)))
        checks.extend(index_checks(inv, store))
    finally:
        store.close()
    return checks


def index_checks(inv: Invocation, store: Any) -> list[Check]:
    problems = store.integrity_check()
    if problems:
        hint = " (restore a backup; for the search index alone, `agentdesk reindex`)"
        return [Check("integrity", False, "; ".join(problems[:3]) + hint)]
    return [Check("integrity", True, "the database and its search index pass SQLite's checks")]


def plugin_checks(config: Config) -> list[Check]:
    """Every plugin that failed to load (a warning unless a channel uses it), and
    each configured channel: its plugin found and its options valid."""
    from agentdesk.core.host.discovery import discover, resolve_channel
    from agentdesk.plugin import PluginConfigError

    catalog = discover(config.plugin_paths)
    used = {c.plugin for c in config.channels if c.enabled}
    checks = [
        Check(
            "plugin",
            report.name not in used,
            f"{report.name} ({report.origin}): {report.error}",
            warning=True,
        )
        for report in catalog.reports
        if not report.ok
    ]
    loaded = sorted(r.name for r in catalog.reports if r.ok and r.kind == "channel")
    checks.append(Check("plugins", True, f"channel plugins: {', '.join(loaded) or 'none'}"))
    for channel in config.channels:
        where = f"{config.source}: channels[{channel.index}]"
        if not channel.enabled:
            checks.append(Check(f"channel {channel.name}", True, "disabled", warning=True))
            continue
        try:
            cls, options = resolve_channel(catalog, channel.plugin, channel.options, where=where)
        except PluginConfigError as exc:
            checks.append(Check(f"channel {channel.name}", False, str(exc)))
            continue
        caps = _instance_capabilities(cls, options, channel.name)
        checks.append(
            Check(f"channel {channel.name}", True, f"{channel.plugin} {cls.version} ({caps.kind})")
        )
    return checks


def _instance_capabilities(cls: Any, options: dict[str, Any], name: str) -> Any:
    """What this instance can do: a channel may set its own capabilities from
    its options (a simulator of SMS is not an email channel). Made, never started."""
    import tempfile

    from agentdesk.plugin.recording import RecordingContext

    with tempfile.TemporaryDirectory(prefix="agentdesk-doctor-") as scratch:
        try:
            context = RecordingContext(name, options, data_dir=Path(scratch))
            return cls(context).capabilities
        except Exception:  # a constructor that needs more than its options: the declaration
            return cls.capabilities


def run_doctor(
    inv: Invocation, *, config_error: str | None = None, store_known: bool = True
) -> int:
    config = inv.config if config_error is None else None
    checks = config_checks(config, config_error)
    steps: list[Callable[[], list[Check]]] = [lambda: store_checks(inv)]
    if not store_known:
        unknown = "not checked: which store the config names cannot be read (fix the config)"
        steps = [lambda: [Check("store", False, unknown)]]
    if config is not None:
        steps.append(lambda: plugin_checks(config))
    for step in steps:
        checks.extend(step())
    table = Table(title="agentdesk doctor", title_justify="left")
    table.add_column("")
    table.add_column("area")
    table.add_column("detail", overflow="fold")
    for check in checks:
        mark = (
            Text("✗", style="bold red")
            if not check.ok
            else (Text("!", style="bold yellow") if check.warning else Text("✓", style="green"))
        )
        table.add_row(mark, check.area, Text(check.detail))
    console = Console()
    console.print(table)
    failed = sum(not c.ok for c in checks)
    if failed:
        console.print(f"{failed} problem(s) found")
        return 1
    console.print("everything looks right")
    return 0
