"""A hub killed with SIGKILL while consoles are sending: they go offline, come
back to the restarted hub by themselves, and nothing is lost or doubled —
every note the hub answered is there, every one still queued lands once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from served_hub import Served, add

from agentdesk.api import DeskError
from agentdesk.domain import Note
from agentdesk.remote import LinkState, RemoteDeskClient

CONSOLES = 4


async def test_consoles_sending_through_a_sigkill_lose_and_double_nothing(tmp_path: Path):
    store = tmp_path / "store"
    tokens = [add(store, f"agent{n}", "--role", "admin") for n in range(CONSOLES)]
    hub = Served(store, tmp_path / "hub.log", "--demo", "--rate", "30")
    clients = [RemoteDeskClient(hub.url, t, first_delay=0.05, max_delay=0.5) for t in tokens]
    try:
        for client in clients:
            await client.connect()
        snapshot = await clients[0].snapshot()
        while not snapshot.tasks:  # the simulated customers write in
            await asyncio.sleep(0.2)
            snapshot = await clients[0].snapshot()
        task_id = snapshot.tasks[0].id
        answered: set[str] = set()
        sent: set[str] = set()
        stop = asyncio.Event()

        async def keep_sending(client: RemoteDeskClient, n: int) -> None:
            count = 0
            while not stop.is_set():
                text = f"note {n}-{count}"
                count += 1
                sent.add(text)
                with contextlib.suppress(DeskError):
                    await client.note(task_id, text)
                    answered.add(text)
                await asyncio.sleep(0.01)

        senders = [asyncio.create_task(keep_sending(c, n)) for n, c in enumerate(clients)]
        await asyncio.sleep(1.0)
        hub.process.kill()  # no drain, no checkpoint: the store recovers on open
        hub.process.wait(10)
        for _ in range(100):
            if all(c.link.state == LinkState.OFFLINE for c in clients):
                break
            await asyncio.sleep(0.05)
        assert all(c.link.state == LinkState.OFFLINE for c in clients)
        await asyncio.sleep(0.5)  # notes made now wait in the journals
        hub = Served(store, tmp_path / "hub-again.log", "--demo", "--rate", "30", port=hub.port)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*senders), 30)
        for _ in range(200):
            if all(len(c.journal) == 0 for c in clients):
                break
            await asyncio.sleep(0.05)
        assert all(len(c.journal) == 0 for c in clients)

        thread = await clients[0].thread(task_id)
        texts = [e.text for e in thread if isinstance(e, Note)]
        assert len(texts) == len(set(texts)), "a note was applied twice"
        assert answered <= set(texts), "a note the hub answered is missing"
        assert set(texts) == sent, "every note made was applied"
        assert len(answered) > 10
    finally:
        for client in clients:
            await client.close()
        hub.stop()
