"""The desk's update stream: live fan-out with a short memory for resuming."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .client import Update


@dataclass(slots=True)
class Notice:
    """A sentence for one agent (or everyone when ``agent`` is None)."""

    text: str
    agent: str | None = None


class UpdateBus:
    """Publishes ``Update``s to subscribers; a subscriber may resume from a seq.

    The bus remembers the last ``history`` updates. A subscriber asking for an
    older seq, or one that stops reading until its queue overflows, gets a
    ``reset`` update and should reload a snapshot: nothing blocks the desk.

    The memory is short on purpose: every update it holds keeps its tasks and
    events alive, and the garbage collector walks them all. Ten thousand made
    collections of 50-90 ms under a steady 1,000 messages a second, each a
    pause of the console's event loop; a thousand keep them under 10 ms.
    Further back, the store's change feed (``changes_since``) has it all.
    """

    def __init__(self, *, history: int = 1_000, queue_size: int = 10_000) -> None:
        self._recent: deque[Update] = deque(maxlen=history)
        self._queues: set[asyncio.Queue[Update]] = set()
        self._queue_size = queue_size
        self._closed = False

    def publish(self, update: Update) -> None:
        self._recent.append(update)
        for queue in list(self._queues):
            try:
                queue.put_nowait(update)
            except asyncio.QueueFull:
                # A stalled reader: replace its backlog with one reset marker.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(Update(seq=update.seq, reset=True))

    def close(self) -> None:
        self._closed = True
        for queue in list(self._queues):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_END)

    async def subscribe(self, since: int) -> AsyncIterator[Update]:
        """Updates with a seq after ``since`` (health updates repeat the seq), then live."""
        queue: asyncio.Queue[Update] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            oldest = self._recent[0].seq if self._recent else None
            if oldest is not None and since < oldest - 1:
                yield Update(seq=self._recent[-1].seq, reset=True)
            else:
                for update in list(self._recent):
                    if update.seq > since:
                        yield update
            while not self._closed:
                update = await queue.get()
                if update is _END:
                    break
                if update.seq > since or (not update.tasks and not update.events):
                    yield update
        finally:
            self._queues.discard(queue)


_END = Update(seq=-1)
