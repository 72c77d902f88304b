"""``agentdesk plugins list | info NAME | check NAME``."""

from __future__ import annotations

import argparse
import asyncio
import tomllib
from dataclasses import fields
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentdesk.core.config import Config
from agentdesk.core.host.discovery import PluginCatalog, discover
from agentdesk.plugin import Channel, PluginConfigError
from agentdesk.plugin.contract import ContractReport, ContractSubject, run_contract

from .base import CommandError, Invocation

_OUTCOME_STYLE = {"passed": ("✓ passed", "green"), "failed": ("✗ failed", "bold red"),
                  "skipped": ("- skipped", "yellow")}  # fmt: skip


def add_parser(sub: Any) -> None:
    plugins = sub.add_parser("plugins", help="list, describe and check channel plugins")
    actions = plugins.add_subparsers(dest="plugins_action", metavar="ACTION")
    actions.add_parser("list", help="installed plugins and whether they loaded")
    info = actions.add_parser("info", help="a plugin's capabilities and options")
    info.add_argument("name", help="plugin name, as written in config")
    check = actions.add_parser("check", help="run the conformance checks on a plugin")
    check.add_argument("name", help="plugin name, as written in config")
    check.add_argument(
        "--channel", help="use the options of this configured channel (default: the first one)"
    )
    check.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="set an option (a TOML value, or plain text); repeatable",
    )  # fmt: skip
    check.add_argument(
        "--send-to", metavar="ADDRESS", help="also check sending, with real messages to ADDRESS"
    )
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per step")
    plugins.set_defaults(handler=run_invocation)


def run_invocation(inv: Invocation) -> int:
    return run(inv.args, inv.config)


def run(
    args: argparse.Namespace,
    config: Config,
    *,
    console: Console | None = None,
    catalog: PluginCatalog | None = None,
) -> int:
    """Run one ``plugins`` action; returns the exit code."""
    console = console or Console()
    catalog = catalog or discover(config.plugin_paths)
    action = getattr(args, "plugins_action", None) or "list"
    if action == "list":
        console.print(plugin_table(catalog, config))
        return 0 if all(r.ok for r in catalog.reports) else 1
    try:
        cls = catalog.channel_class(args.name, where="plugins")
    except PluginConfigError as exc:
        console.print(Text(str(exc).removeprefix("plugins.plugin: "), style="red"))
        return 1
    if action == "info":
        print_info(console, catalog, cls, config)
        return 0
    report = asyncio.run(check_plugin(cls, args, config))
    console.print(report_table(report))
    verdict = "passes the contract" if report.passed else "does not pass the contract"
    console.print(Text(f"{report.plugin} {verdict}", style="green" if report.passed else "red"))
    return 0 if report.passed else 1


def plugin_table(catalog: PluginCatalog, config: Config) -> Table:
    used: dict[str, list[str]] = {}
    for channel in config.channels:
        used.setdefault(channel.plugin, []).append(channel.name)
    table = Table(title="Plugins", title_justify="left")
    for column in ("name", "kind", "version", "origin", "status", "channels"):
        table.add_column(column, overflow="fold")
    for report in sorted(catalog.reports, key=lambda r: (r.kind, r.name)):
        status = Text("ok", style="green") if report.ok else Text(f"error: {report.error}", "red")
        table.add_row(
            report.name,
            report.kind,
            report.version or "-",
            report.origin,
            status,
            ", ".join(used.get(report.name, [])) if report.ok else "",
        )
    return table


def print_info(
    console: Console, catalog: PluginCatalog, cls: type[Channel], config: Config
) -> None:
    report = catalog.report_for(cls.plugin)
    console.print(Text(f"{cls.plugin} {cls.version}", style="bold"))
    if cls.description:
        console.print(cls.description)
    if report is not None:
        console.print(Text(f"from {report.origin}", style="dim"))
    caps = Table(title="Capabilities", title_justify="left", show_header=False)
    caps.add_column("capability")
    caps.add_column("value")
    for item in fields(cls.capabilities):
        value = getattr(cls.capabilities, item.name)
        caps.add_row(item.name, "-" if value is None else str(value))
    caps.add_row("needs_http", str(cls.needs_http))
    console.print(caps)
    options = Table(title="Options", title_justify="left")
    for column in ("option", "kind and default", "help"):
        options.add_column(column, overflow="fold")
    for option in cls.options:
        options.add_row(option.name, option.describe(), option.help)
    console.print(options if cls.options else Text("No options.", style="dim"))
    names = [c.name for c in config.channels if c.plugin == cls.plugin]
    if names:
        console.print(f"Configured channels: {', '.join(names)}")


async def check_plugin(
    cls: type[Channel], args: argparse.Namespace, config: Config
) -> ContractReport:
    """Run the contract with the options of a configured channel (or the defaults)."""
    configured = [c for c in config.channels if c.plugin == cls.plugin]
    if args.channel:
        configured = [c for c in configured if c.name == args.channel]
        if not configured:
            raise CommandError(f"no channel named {args.channel!r} uses plugin {cls.plugin}")
    options = dict(configured[0].options) if configured else {}
    options.update(parse_assignments(args.option))
    send_to = args.send_to

    async def address(channel: Channel, ctx: Any) -> str | None:
        return send_to

    subject = ContractSubject(
        cls,
        options,
        channel_name=configured[0].name if configured else "check",
        send_enabled=send_to is not None,
        send_address=address,
        step_timeout=args.timeout,
        inbound_timeout=args.timeout,
    )
    return await run_contract(subject)


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; the value is read as TOML when it can be, else as text."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--option {item!r}: expected KEY=VALUE")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        values[key.strip()] = value
    return values


def report_table(report: ContractReport) -> Table:
    table = Table(title=f"Conformance of {report.plugin}", title_justify="left")
    for column in ("check", "result", "detail", "time"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        label, style = _OUTCOME_STYLE[result.outcome]
        table.add_row(
            result.title, Text(label, style=style), result.detail, f"{result.seconds:.2f} s"
        )
    return table
