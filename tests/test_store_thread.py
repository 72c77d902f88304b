"""The store's thread: one job at a time, what an agent waits for first."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agentdesk.core.desk.store_thread import StoreThread


async def test_urgent_work_goes_ahead_of_waiting_background_work_and_each_keeps_its_order():
    thread = StoreThread()
    gate = threading.Event()
    ran: list[str] = []
    busy = asyncio.ensure_future(thread.run(gate.wait, 5))
    await asyncio.sleep(0.01)  # the thread is inside the first job
    jobs = [
        asyncio.ensure_future(thread.run(ran.append, "ingest 1")),
        asyncio.ensure_future(thread.run(ran.append, "ingest 2")),
        asyncio.ensure_future(thread.run(ran.append, "reply", urgent=True)),
        asyncio.ensure_future(thread.run(ran.append, "read", urgent=True)),
    ]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(busy, *jobs)
    assert ran == ["reply", "read", "ingest 1", "ingest 2"]
    thread.close()


async def test_errors_come_back_to_the_caller_and_a_closed_thread_takes_no_more():
    thread = StoreThread()
    with pytest.raises(ZeroDivisionError):
        await thread.run(lambda: 1 / 0)
    assert await thread.run(lambda: 42) == 42
    thread.close()
    with pytest.raises(RuntimeError):
        await thread.run(lambda: 1)
