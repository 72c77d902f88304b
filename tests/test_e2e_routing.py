"""Routing on a real hub, end to end: ``agentdesk serve --demo --demo-routing``
with the simulator's traffic and three consoles of different skills and
capacities; afterwards the store says every assignment kept the rules, and
a fourth agent coming online takes the backlog."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from served_hub import Served, add

from agentdesk.domain import Assignment, Status
from agentdesk.remote import RemoteDeskClient
from agentdesk.routing import DEFAULT_CAPACITY
from agentdesk.store import open_store

TEAM = {
    "fanny": ("fr", "chat=1,email=2,sms=1,social=1,phone=1"),
    "ed": ("en", "chat=1,email=2,sms=1,social=1,phone=1"),
    "bill": ("en,billing", "chat=1,email=1,sms=1,social=1,phone=1"),
}


def capacity_of(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split("=") for part in text.split(","))}


async def test_routing_keeps_skills_and_capacity_and_the_backlog_goes_to_a_newcomer(
    tmp_path: Path,
):
    store = tmp_path / "store"
    tokens = {
        name: add(store, name, "--skills", skills, "--capacity", capacity)
        for name, (skills, capacity) in TEAM.items()
    }
    late = add(store, "lola", "--skills", "fr,en,billing", "--capacity", "chat=50,email=50")
    hub = Served(store, tmp_path / "hub.log", "--demo", "--demo-routing", "--rate", "90")
    consoles = [RemoteDeskClient(hub.url, token) for token in tokens.values()]
    try:
        for console in consoles:
            await console.connect()
        await asyncio.sleep(6)  # the simulated customers write in; routing works
        snapshot = await consoles[0].snapshot()
        waiting_before = [t for t in snapshot.tasks if t.assignee is None]
        assert waiting_before, "the team is small on purpose: some tasks must wait"
        newcomer = RemoteDeskClient(hub.url, late)
        await newcomer.connect()
        consoles.append(newcomer)
        await asyncio.sleep(2)
    finally:
        for console in consoles:
            await console.close()
        assert hub.stop() == 0

    # From the store afterwards (the hub is stopped: its last word is there).
    opened = open_store(store, read_only=True)
    try:
        live = opened.tasks([Status.OPEN, Status.PENDING])
        skills = {name: set(s.split(",")) for name, (s, _) in TEAM.items()}
        skills["lola"] = {"fr", "en", "billing"}
        capacity = {name: capacity_of(c) for name, (_, c) in TEAM.items()}
        routed = 0
        for task in live:
            by_routing = [
                e
                for e in opened.events_of_task(task.id)
                if isinstance(e, Assignment) and e.actor == "routing" and e.new_assignee
            ]
            if not by_routing or task.assignee != by_routing[-1].new_assignee:
                continue
            routed += 1
            assert set(task.skills) <= skills[task.assignee], (task.label, task.skills)
        assert routed > 0
        load = Counter((t.assignee, t.channel_kind) for t in live if t.assignee)
        for (agent, kind), n in load.items():
            if agent in capacity:
                assert n <= capacity[agent].get(kind, DEFAULT_CAPACITY.get(kind, 1)), (agent, kind)
        # The backlog went to the newcomer, who has every skill.
        still_waiting = {t.id for t in live if t.assignee is None and t.status == Status.OPEN}
        taken = [t for t in waiting_before if t.id not in still_waiting]
        assert taken and any(opened.get_task(t.id).assignee == "lola" for t in taken), (
            "nobody took the backlog"
        )
    finally:
        opened.close()
