"""The store's own thread: every use of the store runs there, one at a time.

Stores are synchronous (``agentdesk.store.protocol``). Giving the store one
thread keeps the event loop free of disk syncs and queries, and keeps each
plan-and-commit step whole: nothing else touches the store between a
planner's reads and the commit of what it planned.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class StoreThread:
    """Runs functions on a single worker thread, in the order they are given."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentdesk-store")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, context.run, fn, *args)

    def close(self) -> None:
        """Take no more work; what was given still runs."""
        self._pool.shutdown(wait=False)
