"""The store's own thread: every use of the store runs there, one at a time.

Stores are synchronous (``agentdesk.store.protocol``). Giving the store one
thread keeps the event loop free of disk syncs and queries, and keeps each
plan-and-commit step whole: nothing else touches the store between a
planner's reads and the commit of what it planned.

What an agent asked for goes ahead of the desk's own background work still
waiting (ingest batches, delivery bookkeeping): under a flood of inbound
messages a reply waits for the one commit in progress, not for the queue.
Work of the same kind keeps its order.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

URGENT = 0
BACKGROUND = 1


class StoreThread:
    """Runs functions on a single thread: urgent ones first, each kind in order."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="agentdesk-store", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        if self._closed:
            raise RuntimeError("the store's thread is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        job = (loop, future, context, fn, args)
        self._queue.put((URGENT if urgent else BACKGROUND, next(self._order), job))
        return await future

    def _work(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            loop, future, context, fn, args = job
            try:
                result = context.run(fn, *args)
            except BaseException as exc:
                outcome: tuple[Callable[..., None], Any] = (_fail, exc)
            else:
                outcome = (_succeed, result)
            # A loop closed meanwhile has nobody waiting for this any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])

    @property
    def alive(self) -> bool:
        """Whether it takes and runs work."""
        return not self._closed and self._thread.is_alive()

    def close(self) -> None:
        """Take no more work; what was given still runs."""
        if not self._closed:
            self._closed = True
            self._queue.put((BACKGROUND + 1, next(self._order), None))


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
