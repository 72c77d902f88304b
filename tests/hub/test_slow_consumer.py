"""A console that stops reading fills its own send queue and is put out with
the too-slow code; consoles that read are not held back by it."""

from __future__ import annotations

import asyncio
import logging
import os

from agentdesk.api.wire import CLOSE_TOO_SLOW, Subscribe, Subscribed, encode_frame
from agentdesk.core.hub import session

from .conftest import recv, until, until_closed

#: Large updates, so the kernel's and the transport's buffers fill in a few dozen.
DETAIL = 64 * 1024


async def test_a_console_that_never_reads_is_put_out_and_others_go_on(served, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="agentdesk.hub")
    monkeypatch.setattr(session, "SEND_QUEUE", 8)
    # The slow console: no compression (the updates would shrink to nothing) and
    # one frame of read-ahead; it subscribes, then stops reading.
    slow = await served.welcomed(await served.token("slow"), compression=None, max_queue=1)
    await slow.send(encode_frame(Subscribe(since=served.desk.store.seq)).decode())
    assert isinstance(await recv(slow), Subscribed)

    # A console that reads everything.
    good = await served.remote("good")
    seen: list[str] = []
    tasks: list[str] = []

    async def read() -> None:
        async for update in good.subscribe(served.desk.store.seq):
            seen.extend(c.detail for c in update.channels)
            tasks.extend(t.id for t in update.tasks)

    reader = asyncio.create_task(read())
    # A stored change reaches a stream from before it: once it arrives, the
    # good console's stream is live (health updates are not replayed).
    task = await served.write_in("a@b.co", "hello")
    await until(lambda: task.id in tasks, what="the good console's stream")

    def stalled() -> bool:
        return any("stopped reading" in r.getMessage() for r in caplog.records)

    # Each update waits for the good console to have it: it keeps up by
    # construction, so whatever happens to it is the slow one's doing.
    sent: list[str] = []
    while not stalled():
        assert len(sent) < 600, "the slow console was never put out"
        detail = os.urandom(DETAIL // 2).hex()
        served.desk.update_channel("mail", detail=detail)
        sent.append(detail)
        await until(lambda: len(seen) >= len(sent), what="the good console's update")
    assert "slow" in next(
        r.getMessage() for r in caplog.records if "stopped reading" in r.getMessage()
    )

    # Read now, to see how the hub closed it (it waits a moment for the close to
    # go through): the too-slow code, after some of the updates, not all.
    frames, code = await until_closed(slow)
    assert code == CLOSE_TOO_SLOW
    assert 0 < len(frames) < len(sent)

    # The good console has every update in order, and still works.
    await until(lambda: len(served.hub.sessions) == 1, what="the slow session to end")
    assert seen == sent
    assert {s.agent.name for s in served.hub.sessions} == {"good"}
    assert [c.name for c in await good.channels()]
    served.desk.update_channel("mail", detail="after")
    await until(lambda: seen[-1:] == ["after"], what="an update after the slow one left")
    reader.cancel()
