"""``agentdesk route explain TASK``: why a task went to whom, or why it waits."""

from __future__ import annotations

import asyncio
from typing import Any

from agentdesk.api import DeskError
from agentdesk.api import requests as rq

from .base import CommandError, Invocation, open_store
from .hub_target import add_hub_arguments, hub_target, tool_client


def add_parser(sub: Any) -> None:
    route = sub.add_parser("route", help="how routing decides (explain one task)")
    add_hub_arguments(route)
    actions = route.add_subparsers(dest="route_action", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain", help="the rules a task matched and each agent's case (who is online: --hub)"
    )
    explain.add_argument("task", help="the task's number (1042 or #1042) or id")
    explain.set_defaults(handler=run_explain)


def run_explain(inv: Invocation) -> int:
    try:
        lines = asyncio.run(_explain(inv, inv.args.task))
    except DeskError as exc:
        raise CommandError(str(exc)) from None
    for line in lines:
        print(line)
    return 0


async def _explain(inv: Invocation, given: str) -> list[str]:
    target = hub_target(inv, from_config=False)
    if target is not None:
        async with tool_client(target) as client:
            return await _ask(client.request, given)
    return await _on_store(inv, given)


async def _on_store(inv: Invocation, given: str) -> list[str]:
    from agentdesk.core.desk import Desk
    from agentdesk.core.desk.desk import DESK_ACTOR
    from agentdesk.core.desk.routing_pass import RoutingPass

    # Beside a running hub too: read-only, and nobody is online as far as it knows.
    store = await asyncio.to_thread(open_store, inv.store_path, read_only=True)
    routing = RoutingPass(inv.config.routing)
    desk = Desk(store, routing=routing)
    try:
        lines = await _ask(lambda request: desk.handle(DESK_ACTOR, request), given)
        return ["(from the store: presence is the hub's to know; use --hub)", *lines]
    finally:
        await desk.read(store.close)
        desk.close()


async def _ask(request: Any, given: str) -> list[str]:
    text = given.strip().lstrip("#")
    task_id = text
    if text.isdigit():
        task = await request(rq.TaskByNumber(number=int(text)))
        if task is None:
            raise CommandError(f"no task #{text}")
        task_id = task.id
    lines: list[str] = await request(rq.ExplainRouting(task_id=task_id))
    return lines
