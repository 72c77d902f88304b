"""The lead's board on a real hub, end to end: ``agentdesk serve`` with a
finite simulated traffic and routing, three agents answering and closing what
they are given; the board's counts, asked for over the websocket, equal a
recount from the store by plain loops once the hub has stopped."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from served_hub import Served, add

from agentdesk.api import DeskError
from agentdesk.api import requests as rq
from agentdesk.domain import Assignment, Message, StatusChange, Transfer
from agentdesk.remote import RemoteDeskClient
from agentdesk.store import open_store

TRAFFIC = {"chat": 8, "email": 6, "sms": 4}
AGENTS = {"ann": "chat=2,email=3,sms=1", "bob": "chat=1,email=2,sms=1", "cy": "chat=1,sms=1"}


def config(tmp_path: Path) -> Path:
    lines = ["[routing]", "enabled = true", ""]
    for kind, count in TRAFFIC.items():
        lines += [
            "[[channels]]",
            'plugin = "simulator"',
            f'name = "sim-{kind}"',
            f'kind = "{kind}"',
            "rate = 0",
            f"count = {count}",
            "reply_delay = 3600",  # customers do not write back within the test
            "",
        ]
    path = tmp_path / "hub.toml"
    path.write_text("\n".join(lines))
    return path


async def work(client: RemoteDeskClient, rounds: int, close_every: int) -> None:
    """Answer every task given to this agent; close one in ``close_every``."""
    answered: set[str] = set()
    for _ in range(rounds):
        snapshot = await client.snapshot()
        for task in snapshot.tasks:
            if task.assignee != client.me or task.id in answered:
                continue
            answered.add(task.id)
            with contextlib.suppress(DeskError):
                await client.reply(task.id, "On it.")
                if len(answered) % close_every == 0:
                    await client.set_status(task.id, "closed")
        await asyncio.sleep(0.3)


async def test_the_board_counts_what_the_store_recounts(tmp_path: Path) -> None:
    store = tmp_path / "store"
    tokens = {name: add(store, name, "--capacity", cap) for name, cap in AGENTS.items()}
    lead = add(store, "lea", "--role", "lead")
    hub = Served(store, tmp_path / "hub.log", config=config(tmp_path))
    agents = [RemoteDeskClient(hub.url, token) for token in tokens.values()]
    watcher = RemoteDeskClient(hub.url, lead)
    try:
        for client in [*agents, watcher]:
            await client.connect()
        await asyncio.gather(*(work(c, 12, 2 + i) for i, c in enumerate(agents)))
        await asyncio.sleep(1.0)  # the routing pass after the last close has run
        board = await watcher.request(rq.GetBoard())
    finally:
        for client in [*agents, watcher]:
            await client.close()
        assert hub.stop() == 0

    opened = open_store(store, read_only=True)
    try:
        tasks = opened.tasks()
        recount: dict[str, dict[str, int]] = {}
        inbound = 0
        for task in tasks:
            events = opened.events_of_task(task.id)
            inbound += sum(1 for e in events if isinstance(e, Message) and e.actor == "customer")
            kind = next(e.channel_kind for e in events if isinstance(e, Message))
            row = recount.setdefault(kind, {"received": 0, "handled": 0, "waiting": 0})
            row["received"] += 1
            closes = [e for e in events if isinstance(e, StatusChange) and e.new == "closed"]
            row["handled"] += sum(1 for e in closes if e.actor in AGENTS)
            owned = [e for e in events if isinstance(e, Assignment | Transfer)]
            unassigned = not owned or owned[-1].new_assignee is None
            if task.status == "open" and unassigned:
                row["waiting"] += 1
    finally:
        opened.close()
    shown = {
        f.channel: {"received": f.received, "handled": f.handled, "waiting": f.waiting}
        for f in board.channels
    }
    assert shown == recount
    assert inbound == sum(TRAFFIC.values())  # all the traffic came (a customer may write twice)
    assert sum(r["handled"] for r in recount.values()) > 0
    loads = {a.name: a for a in board.agents}
    assert set(AGENTS) <= set(loads) and all(loads[n].presence == "online" for n in AGENTS)
