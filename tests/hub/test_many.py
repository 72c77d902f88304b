"""Many consoles at once: one update reaches all, presence follows them."""

from __future__ import annotations

import asyncio

from agentdesk.api import Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence

from .conftest import GRACE, until

CONSOLES = 50


async def test_fifty_consoles_get_the_same_update_and_show_online_then_offline(served):
    roles = [Role.AGENT, Role.LEAD, Role.ADMIN]
    names = [f"agent{n:02}" for n in range(CONSOLES)]
    tokens = [await served.token(name, roles[n % 3]) for n, name in enumerate(names)]
    clients = await asyncio.gather(*(served.remote(token=t) for t in tokens))
    assert sorted(c.me for c in clients) == names
    watcher = await served.remote("watcher", Role.LEAD)

    since = served.desk.store.seq
    got: dict[str, list] = {}

    async def first_task_update(client) -> None:
        async for update in client.subscribe(since):
            if update.tasks:
                got[client.me] = [t.id for t in update.tasks]
                return

    readers = [asyncio.create_task(first_task_update(c)) for c in clients]
    task = await served.write_in("a@b.co", "one message for everyone")
    await asyncio.wait_for(asyncio.gather(*readers), 10)
    assert sorted(got) == names
    assert all(ids == [task.id] for ids in got.values())

    listed = {a.name: a.presence for a in await watcher.request(rq.ListAgents())}
    assert all(listed[name] == Presence.ONLINE for name in names)
    assert len(served.hub.sessions) == CONSOLES + 1

    await asyncio.gather(*(c.close() for c in clients))

    async def all_offline() -> bool:
        listed = {a.name: a.presence for a in await watcher.request(rq.ListAgents())}
        return all(listed[name] == Presence.OFFLINE for name in names)

    # Offline once the grace is over (GRACE is small here), the watcher still online.
    await until(all_offline, timeout=GRACE + 5, what="everyone offline")
    listed = {a.name: a.presence for a in await watcher.request(rq.ListAgents())}
    assert listed["watcher"] == Presence.ONLINE
    assert {s.agent.name for s in served.hub.sessions} == {"watcher"}


async def test_a_snapshot_larger_than_a_console_may_send_still_reaches_it(served):
    # About 600 bytes a task: 2,500 open tasks make a snapshot over 1 MiB,
    # the most a console may send, which must not bound what it receives.
    for n in range(2500):
        await served.write_in(f"c{n}@example.com", f"order {n} is late " + "x" * 200)
    client = await served.remote("ana", Role.AGENT)
    snapshot = await client.snapshot()
    assert len(snapshot.tasks) == 2500
    assert client.link.state == "online"


async def test_a_thousand_connections_opened_and_dropped_leave_nothing_behind(served):
    from websockets.asyncio.client import connect

    from .conftest import hello

    token = await served.token("ana")
    watcher = await served.remote("lead", Role.LEAD)

    async def open_and_drop(n: int) -> None:
        ws = await connect(served.url, open_timeout=10, ping_interval=None)
        if n % 2:  # half say hello first, the others drop before it
            await ws.send(hello(token))
            await ws.recv()
        ws.transport.abort()  # gone without a close frame, as a killed console

    # In waves of 100, so the file descriptors in use stay low on any machine.
    for wave in range(10):
        await asyncio.gather(*(open_and_drop(wave * 100 + n) for n in range(100)))
    await until(lambda: len(served.hub.sessions) == 1, what="only the watcher's session")

    def presence(name: str) -> Presence:
        return next(a.presence for a in served.desk.agent_list() if a.name == name)

    await until(lambda: presence("ana") == Presence.OFFLINE, what="ana offline again")
    listed = {a.name: a.presence for a in await watcher.request(rq.ListAgents())}
    assert listed["ana"] == Presence.OFFLINE and listed["lead"] == Presence.ONLINE
    # And the hub still serves a console as before.
    client = await served.remote(token=token)
    assert (await client.snapshot()).seq == served.desk.store.seq
