"""The desk's update stream: live fan-out with a short memory for resuming.

Each update is published once, as a ``Published`` that encodes it on first
need and keeps the bytes, so a hub with a hundred consoles encodes it once.
Each subscriber passes a filter: what this actor may see (an update ``to``
one agent reaches that agent alone).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from agentdesk.api import Update
from agentdesk.api.codec import encode
from agentdesk.api.wire import update_frame


@dataclass(slots=True)
class Notice:
    """A sentence for one agent (or everyone when ``agent`` is None)."""

    text: str
    agent: str | None = None


class Published:
    """An update as the bus holds it: the object, and its JSON made once."""

    __slots__ = ("_data", "_frame", "update")

    def __init__(self, update: Update) -> None:
        self.update = update
        self._data: bytes | None = None
        self._frame: str | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = encode(self.update)
        return self._data

    @property
    def frame(self) -> str:
        """The hub protocol's ``update`` frame around it, made once for every console."""
        if self._frame is None:
            self._frame = update_frame(self.data).decode()
        return self._frame


Accept = Callable[[Update], bool]


def everything(update: Update) -> bool:
    return True


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
        self._recent: deque[Published] = deque()
        self._history = history
        #: The newest seq of a data change the bus no longer holds: a
        #: subscriber resuming from before it must reload.
        self._forgotten = 0
        self._queues: dict[asyncio.Queue[Published], Accept] = {}
        self._queue_size = queue_size
        self._closed = False

    def forget_until(self, seq: int) -> None:
        """Changes up to ``seq`` happened before this bus (a desk opened on a
        store that has them): resuming from before ``seq`` needs a reload."""
        self._forgotten = max(self._forgotten, seq)

    def publish(self, update: Update) -> Published:
        published = Published(update)
        if update.reset:  # for those following now; never a state to resume with
            self._fan_out(published)
            return published
        if len(self._recent) >= self._history:
            dropped = self._recent.popleft().update
            # Presence, health and typing repeat the seq of the last data
            # change: only a data change moves what can be resumed.
            if dropped.changes_data:
                self._forgotten = max(self._forgotten, dropped.seq)
        self._recent.append(published)
        self._fan_out(published)
        return published

    def _fan_out(self, published: Published) -> None:
        update = published.update
        for queue, accept in list(self._queues.items()):
            if not accept(update):
                continue
            try:
                queue.put_nowait(published)
            except asyncio.QueueFull:
                # A stalled reader: replace its backlog with one reset marker.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(Published(Update(seq=update.seq, reset=True)))

    def close(self) -> None:
        self._closed = True
        for queue in list(self._queues):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_END)

    async def subscribe(self, since: int, accept: Accept = everything) -> AsyncIterator[Published]:
        """Updates ``accept`` lets through with a seq after ``since``, then live
        ones. Health, presence, typing and notices repeat the seq of the last
        data change; those at ``since`` itself are replayed too (they may have
        come after the subscriber's last update; states are safe twice, so
        notices, which are not, are left out)."""
        queue: asyncio.Queue[Published] = asyncio.Queue(self._queue_size)
        self._queues[queue] = accept
        try:
            if since < self._forgotten:
                latest = self._recent[-1].update.seq if self._recent else self._forgotten
                yield Published(Update(seq=latest, reset=True))
            else:
                for published in list(self._recent):
                    update = published.update
                    state = not update.changes_data and not update.notices
                    if (update.seq > since or (update.seq == since and state)) and accept(update):
                        yield published
            while not self._closed:
                published = await queue.get()
                if published is _END:
                    break
                update = published.update
                if update.seq > since or not update.changes_data:
                    yield published
        finally:
            self._queues.pop(queue, None)


_END = Published(Update(seq=-1))
