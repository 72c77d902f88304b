"""``agentdesk`` (the console on the configured store) and ``agentdesk demo``."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from agentdesk.core.config import ChannelConfig, Config

from .base import Invocation
from .hub_target import HubTarget, add_hub_arguments, hub_target
from .log_format import quiet_wire_logs

DEMO_KINDS = ("email", "chat", "sms", "social", "phone")


def add_parser(sub: Any) -> None:
    console = sub.add_parser(
        "console", help="open the console on the configured store or hub (default)"
    )
    add_hub_arguments(console)
    console.add_argument(
        "--lead", action="store_true", help="open on the team board (for team leads; L toggles)"
    )
    console.set_defaults(handler=run_console)
    demo = sub.add_parser(
        "demo", help="the console on a throwaway store, with simulated customers writing in"
    )
    demo.add_argument("--rate", type=float, default=4.0, help="messages per minute per channel")
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated world")
    demo.add_argument("--keep", action="store_true", help="keep the demo store afterwards")
    demo.add_argument(
        "--team",
        action="store_true",
        help="run the demo's desk as a hub in its own process; others can join it",
    )
    demo.set_defaults(handler=run_demo)


#: The team demo's routing: French customers to agents with "fr", refunds to "billing".
DEMO_ROUTING = {
    "enabled": True,
    "rules": [
        {"when": "bonjour OR merci OR commande OR facture", "skills": ["fr"]},
        {"when": "refund OR remboursement OR facture OR invoice", "skills": ["billing"]},
    ],
}


#: The demo's service-level targets (unless the config has its own): short
#: enough that rows are seen turning amber and red within minutes.
DEMO_SLA = {
    "targets": [
        {"first_response": "1h", "next_reply": "2h"},
        {"channel": "chat", "first_response": "3m", "next_reply": "3m"},
        {"channel": "sms", "first_response": "5m", "next_reply": "5m"},
        {"channel": "social", "first_response": "5m", "next_reply": "5m"},
        {"channel": "phone", "first_response": "2m"},
    ]
}


DEMO_SURVEYS = {"ask": ["csat", "ces"], "delay": "20s", "customer_days": 0}


def demo_config(config: Config, *, rate: float, seed: int, routing: bool = False) -> Config:
    """The user's config with its channels replaced by one simulator per channel
    kind, ``DEMO_SLA`` when it has no targets (and, for the team demo,
    ``DEMO_ROUTING``)."""
    channels = [
        ChannelConfig(
            plugin="simulator",
            name=f"sim-{kind}",
            options={"kind": kind, "rate": rate, "seed": seed},
            index=i,
        )
        for i, kind in enumerate(DEMO_KINDS)
    ]
    agent = config.agent if config.agent != "agent" else "you"
    demo = dataclasses.replace(config, channels=channels, agent=agent)
    from agentdesk.core.config import parse_config

    if not demo.sla.targets:
        demo = dataclasses.replace(demo, sla=parse_config({"sla": DEMO_SLA}).sla)
    if routing:
        demo = dataclasses.replace(demo, routing=parse_config({"routing": DEMO_ROUTING}).routing)
    if not demo.surveys.enabled:  # closing a task shows the survey and its answer
        demo = dataclasses.replace(demo, surveys=parse_config({"surveys": DEMO_SURVEYS}).surveys)
    return demo


def themes_dir() -> Path:
    """The theme files: beside the package in a checkout, else where the wheel put them."""
    checkout = Path(__file__).resolve().parents[2] / "themes"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "agentdesk" / "themes"


def _log_to_file(path: Path) -> None:
    """While the console owns the terminal, log records go to a file beside the store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    quiet_wire_logs()


def _run_app(
    config: Config,
    store_path: Path,
    state_dir: Path,
    hub: HubTarget | None = None,
    greeting: str = "",
    lead: bool = False,
) -> int:
    connector: Any
    problems: list[str] = []
    if hub is not None:
        from agentdesk.remote.connector import HubConnector
        from agentdesk.tui.local_docs.command_journal import JOURNAL_FILE, DiskJournal

        _log_to_file(state_dir / "agentdesk.log")
        # Commands a console closed while offline left here are sent first.
        journal = DiskJournal(state_dir / JOURNAL_FILE, hub.url)
        problems = journal.warnings
        connector = HubConnector(hub.url, hub.token, cafile=hub.cafile, journal=journal)
        title = "agentdesk"
    else:
        from agentdesk.core.runtime import EmbeddedDesk

        _log_to_file(store_path.parent / "agentdesk.log")
        connector = EmbeddedDesk(config, store_path)
        # The store opens while the console's code loads.
        connector.prefetch()
        title = f"agentdesk — {config.agent}"
    from agentdesk.tui.app import AgentDeskApp
    from agentdesk.tui.local_docs import FILE_NAME

    app = AgentDeskApp(
        connector,
        keymap=config.keymap,
        theme=config.theme,
        canned=config.canned,
        themes_dir=themes_dir(),
        title=title,
        agents=config.agents,
        teams=config.teams,
        docs=state_dir / FILE_NAME,
        greeting=greeting,
        lead=lead,
        problems=problems,
        idle_away=config.hub.away_after_minutes * 60,
    )
    app.run()
    for warning in getattr(connector, "warnings", ()):
        print(f"agentdesk: {warning}", file=sys.stderr)
    if app.open_error is not None:
        print(f"agentdesk: cannot open the desk: {app.open_error}", file=sys.stderr)
    return app.return_code or 0


def _state_dir(inv: Invocation, default: Path) -> Path:
    given = getattr(inv.args, "state", None)
    return given if given is not None else default


def run_console(inv: Invocation) -> int:
    state = _state_dir(inv, inv.config.state)
    return _run_app(
        inv.config, inv.store_path, state, hub_target(inv), lead=getattr(inv.args, "lead", False)
    )


def run_demo(inv: Invocation) -> int:
    config = demo_config(inv.config, rate=inv.args.rate, seed=inv.args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="agentdesk-demo-"))
    state = _state_dir(inv, workdir / "state")
    try:
        if inv.args.team:
            return _run_team_demo(inv, config, workdir, state)
        # The demo's drafts and preferences are as throwaway as its store.
        return _run_app(config, workdir / "store", state)
    finally:
        if inv.args.keep:
            print(f"agentdesk: the demo store is kept in {workdir / 'store'}", file=sys.stderr)
            print(f"agentdesk: its console documents in {workdir / 'state'}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_team_demo(inv: Invocation, config: Config, workdir: Path, state: Path) -> int:
    from . import team_demo

    store = workdir / "store"
    tokens = team_demo.add_team(store, workdir)
    hub, url = team_demo.start_hub(store, workdir, rate=inv.args.rate, seed=inv.args.seed)
    try:
        target = team_demo.team_target(url, tokens)
        return _run_app(config, store, state, target, team_demo.greeting(workdir, url))
    finally:
        team_demo.stop_hub(hub)
