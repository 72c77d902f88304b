"""How late the event loop runs a 5 ms timer: what a console on it would feel."""

from __future__ import annotations

import asyncio
import time

TICK = 0.005


class LoopLag:
    """Watches the running loop from ``start()`` to ``stop()``; ``worst`` in seconds."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.perf_counter() - began - TICK)
