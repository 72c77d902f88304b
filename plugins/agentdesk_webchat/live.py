"""The browsers connected right now: one ``Connection`` per tab, grouped by session.

Frames to a browser go through a bounded queue drained by one writer task per
connection, so a broadcast never waits on a slow or stalled browser; a
browser that falls that far behind is disconnected and catches up by replay
when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .protocol import CLOSE_POLICY
from .ratelimit import TokenBucket

#: Frames waiting for one browser, beyond a whole replay of the session's log.
QUEUE_SIZE = 256
#: How long a closing connection may take to flush its queue and close frame.
CLOSE_WAIT_SECONDS = 2.0
_CLOSE = object()


class Connection:
    """One open websocket (a Starlette ``WebSocket``) of one session."""

    def __init__(self, websocket: Any, session_id: str, *, queue_size: int = QUEUE_SIZE) -> None:
        self.websocket = websocket
        self.session_id = session_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
        self._closing = False
        self._writer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name=f"webchat-writer-{id(self)}")

    def push(self, frame: str) -> None:
        """Queue a frame; a browser too far behind is disconnected instead."""
        if self._closing:
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.close(CLOSE_POLICY, "too far behind; reconnect to catch up")

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have gone out."""
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait((_CLOSE, code, reason))
            return
        # The queue is full: drop what is waiting, the close matters more.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait((_CLOSE, code, reason))

    async def finish(self) -> None:
        """Stop the writer once the reader is done, letting a pending close go out."""
        writer = self._writer
        if writer is None:
            return
        if self._closing:
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(writer), CLOSE_WAIT_SECONDS)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, tuple) and item and item[0] is _CLOSE:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=item[1], reason=item[2])
                return
            try:
                await self.websocket.send_text(item)
            except Exception:
                # The browser went away; the reader notices and cleans up.
                return


@dataclass(slots=True)
class LiveSession:
    """What exists only while the desk runs: open tabs, limits, typing state."""

    connections: set[Connection] = field(default_factory=set)
    messages: TokenBucket | None = None
    visitor_typing: bool = False
    visitor_typing_sent_at: float = 0.0
    agent_typing: bool = False
    #: Agent messages waiting for the browser's receipt: seq -> future.
    waiting: dict[int, asyncio.Future[None]] = field(default_factory=dict)


class LiveSessions:
    """Open connections by session, with per-session rate limits."""

    def __init__(self, new_bucket: Callable[[], TokenBucket]) -> None:
        self._new_bucket = new_bucket
        self._sessions: dict[str, LiveSession] = {}

    def session(self, session_id: str) -> LiveSession:
        live = self._sessions.get(session_id)
        if live is None:
            live = LiveSession(messages=self._new_bucket())
            self._sessions[session_id] = live
        return live

    def peek(self, session_id: str) -> LiveSession | None:
        return self._sessions.get(session_id)

    def connected(self, session_id: str) -> bool:
        """Whether the session has a tab that is open and not being closed."""
        live = self._sessions.get(session_id)
        return live is not None and any(not c.closing for c in live.connections)

    def count(self) -> int:
        return sum(len(live.connections) for live in self._sessions.values())

    def add(self, connection: Connection) -> LiveSession:
        live = self.session(connection.session_id)
        live.connections.add(connection)
        return live

    def remove(self, connection: Connection) -> None:
        live = self._sessions.get(connection.session_id)
        if live is None:
            return
        live.connections.discard(connection)
        # A session without tabs keeps its rate bucket until the bucket is full
        # again, so reconnecting does not reset the limit; then it is forgotten.
        for session_id in [sid for sid, live in self._sessions.items() if self._idle(live)]:
            del self._sessions[session_id]

    @staticmethod
    def _idle(live: LiveSession) -> bool:
        if live.connections or live.waiting:
            return False
        return live.messages is None or live.messages.full()

    def broadcast(self, session_id: str, frame: str) -> int:
        """Send a frame to every tab of the session; returns how many got it queued."""
        live = self._sessions.get(session_id)
        if live is None:
            return 0
        for connection in list(live.connections):
            connection.push(frame)
        return len(live.connections)

    def close_session(self, session_id: str, code: int, reason: str) -> int:
        live = self._sessions.get(session_id)
        if live is None:
            return 0
        for connection in list(live.connections):
            connection.close(code, reason)
        return len(live.connections)

    def close_all(self, code: int, reason: str) -> None:
        for session_id in list(self._sessions):
            self.close_session(session_id, code, reason)

    def resolve_receipts(self, session_id: str, seq: int) -> None:
        """Wake ``send`` calls waiting for the browser to confirm messages up to ``seq``."""
        live = self._sessions.get(session_id)
        if live is None:
            return
        for waiting_seq in [s for s in live.waiting if s <= seq]:
            future = live.waiting.pop(waiting_seq)
            if not future.done():
                future.set_result(None)
