"""``agentdesk agents``: who may connect to the hub, with what role.

On the store directly (before the hub first runs, or while it is stopped),
or through a running hub with ``--hub`` as an admin.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from agentdesk.api import DeskError, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import AgentInfo, AgentToken

from .base import CommandError, Invocation, open_store
from .hub_target import add_hub_arguments, hub_target, tool_client

ROLES = [role.value for role in Role]


def add_parser(sub: Any) -> None:
    agents = sub.add_parser("agents", help="add, list, revoke agents and rotate their tokens")
    add_hub_arguments(agents)
    actions = agents.add_subparsers(dest="agents_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every agent, their role and presence")
    listing.set_defaults(handler=run_agents, make=lambda a: rq.ListAgents())
    add = actions.add_parser("add", help="a new agent; prints their token once")
    add.add_argument("name", help="lowercase login name (letters, digits, . _ -)")
    add.add_argument("--role", choices=ROLES, default=Role.AGENT.value)
    add.add_argument("--display-name", default="", help="the name colleagues see")
    add.add_argument("--teams", "--team", default="", help="comma-separated teams")
    add.add_argument("--skills", default="", help="comma-separated skills (routing reads them)")
    add.add_argument(
        "--capacity", default="", help="tasks at once per channel kind: chat=2,email=8"
    )
    add.add_argument(
        "--limit", type=int, default=None, help="tasks at once over every channel kind"
    )
    add.set_defaults(handler=run_agents, make=_add_request)
    revoke = actions.add_parser("revoke", help="the agent's token stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=run_agents, make=lambda a: rq.RevokeAgent(name=a.name))
    rotate = actions.add_parser("rotate", help="a new token for the agent; the old one stops")
    rotate.add_argument("name")
    rotate.set_defaults(handler=run_agents, make=lambda a: rq.RotateToken(name=a.name))


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def parse_capacity(text: str) -> dict[str, int]:
    """``"chat=2,email=8"`` as a mapping; a clear error for anything else."""
    capacity: dict[str, int] = {}
    for part in _words(text):
        kind, sep, count = part.partition("=")
        if not sep or not kind.strip() or not count.strip().isdigit():
            raise CommandError(f"--capacity: expected KIND=NUMBER, got {part!r}")
        capacity[kind.strip()] = int(count)
    return capacity


def _add_request(args: Any) -> rq.AddAgent:
    return rq.AddAgent(
        name=args.name,
        role=Role(args.role),
        display_name=args.display_name,
        teams=_words(args.teams),
        skills=_words(args.skills),
        capacity=parse_capacity(args.capacity),
        total_limit=args.limit,
    )


def run_agents(inv: Invocation) -> int:
    request = inv.args.make(inv.args)
    try:
        result = asyncio.run(_through(inv, request))
    except DeskError as exc:
        raise CommandError(str(exc)) from None
    _show(request, result)
    return 0


async def _through(inv: Invocation, request: rq.Request) -> Any:
    target = hub_target(inv, from_config=False)
    if target is not None:
        return await _through_hub(target, request)
    if isinstance(request, rq.ListAgents):
        return await asyncio.to_thread(_list_from_store, inv)
    return await _on_store(inv, lambda desk: desk.handle(_admin(), request))


async def _through_hub(target: Any, request: rq.Request) -> Any:
    async with tool_client(target) as client:
        return await client.request(request)


def _admin() -> Any:
    from agentdesk.core.desk.desk import DESK_ACTOR

    return DESK_ACTOR


def _list_from_store(inv: Invocation) -> list[AgentInfo]:
    from agentdesk.core.desk.agents import AgentBook

    # Read-only: listing works beside a running hub (presence is the hub's to know).
    store = open_store(inv.store_path, read_only=True)
    try:
        return AgentBook.from_state(store.state_items()).all()
    finally:
        store.close()


async def _on_store(inv: Invocation, act: Callable[[Any], Awaitable[Any]]) -> Any:
    from agentdesk.core.desk import Desk

    store = await asyncio.to_thread(open_store, inv.store_path)
    desk = Desk(store)
    try:
        return await act(desk)
    finally:
        await desk.read(store.close)
        desk.close()


def _show(request: rq.Request, result: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if isinstance(result, AgentToken):
        what = "added" if isinstance(request, rq.AddAgent) else "has a new token"
        console.print(Text(f"{result.agent.name} ({result.agent.role}) {what}."))
        # The token alone on stdout's last line, so a script can take it.
        console.print(Text("Their token, shown this once:"), style="bold")
        print(result.token, flush=True)
        return
    if isinstance(result, AgentInfo):
        state = "revoked: their consoles are closed" if result.revoked else "unchanged"
        console.print(Text(f"{result.name}: {state}"))
        return
    table = Table(title=f"{len(result)} agents", title_justify="left")
    for column in ("name", "role", "teams", "skills", "capacity", "presence", "since"):
        table.add_column(column, overflow="fold")
    for agent in result:
        capacity = ",".join(f"{k}={v}" for k, v in sorted(agent.capacity.items()))
        if agent.total_limit is not None:
            capacity += f"{',' if capacity else ''}total={agent.total_limit}"
        since = datetime.fromtimestamp(agent.created_at).strftime("%Y-%m-%d")
        presence = "revoked" if agent.revoked else str(agent.presence)
        table.add_row(
            Text(agent.label if agent.label == agent.name else f"{agent.name} ({agent.label})"),
            Text(str(agent.role)),
            Text(",".join(agent.teams)),
            Text(",".join(agent.skills)),
            Text(capacity),
            Text(presence),
            Text(since),
        )
    if not result:
        print("no agents yet: agentdesk agents add NAME --role admin", file=sys.stderr)
        return
    console.print(table)
