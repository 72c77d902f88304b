"""One console's connection to the hub: hello, calls, the update stream.

The session reads frames and answers them; everything it sends goes through
one bounded queue drained by one writer, so a console that stops reading
fills its own queue and is put out, and nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from agentdesk.api import Actor, DeskError, ErrorCode
from agentdesk.api import requests as rq
from agentdesk.api.agents import AgentInfo
from agentdesk.api.codec import encode
from agentdesk.api.wire import (
    CLOSE_PROTOCOL,
    CLOSE_TOO_SLOW,
    Bye,
    Call,
    Error,
    Subscribe,
    Subscribed,
    encode_frame,
    result_frame,
)

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from agentdesk.core.desk import Desk

log = logging.getLogger("agentdesk.hub")

#: Frames waiting to be written to one console before it counts as stalled.
SEND_QUEUE = 2_000
#: Calls of one console answered at once.
CALLS_AT_ONCE = 16

Observe = Callable[[str, float, bool], None]


class Stalled(Exception):
    """The console stopped reading: its queue is full."""


class Session:
    """A console that said hello and was welcomed."""

    def __init__(
        self,
        ws: WebSocket,
        desk: Desk,
        agent: AgentInfo,
        token_hash: str,
        *,
        accepting: Callable[[], bool],
        observe: Observe,
    ) -> None:
        self.ws = ws
        self.desk = desk
        self.agent = agent
        self.actor: Actor = agent.actor
        self.token_hash = token_hash
        #: A console (its agent online while it is here), not a tool.
        self.present = True
        self._accepting = accepting
        self._observe = observe
        self._out: asyncio.Queue[str | None] = asyncio.Queue(SEND_QUEUE)
        self._calls = asyncio.Semaphore(CALLS_AT_ONCE)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stream: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None
        self.in_flight = 0

    # --- sending ---------------------------------------------------------------

    def send(self, text: str) -> None:
        try:
            self._out.put_nowait(text)
        except asyncio.QueueFull:
            raise Stalled from None

    async def _writer(self) -> None:
        while True:
            text = await self._out.get()
            if text is None:
                return
            await self.ws.send_text(text)

    def close(self, code: int, reason: str, message: str) -> None:
        """Say why, then close (after what is queued before it)."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        with contextlib.suppress(asyncio.QueueFull):
            self._out.put_nowait(encode_frame(Bye(reason=reason, message=message)).decode())
        with contextlib.suppress(asyncio.QueueFull):
            self._out.put_nowait(None)
        if self._out.full():  # a stalled console gets no goodbye
            self._abort()

    def _abort(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # --- the connection ----------------------------------------------------------

    async def run(self) -> None:
        """Serve the console until it leaves or is put out."""
        writer = self._spawn(self._writer())
        reader = self._spawn(self._reader())
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not writer.done():
                # The reader ended (the console left, or closing): let the queue drain.
                if self._closing is None:
                    with contextlib.suppress(asyncio.QueueFull):
                        self._out.put_nowait(None)
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(writer), 2.0)
        finally:
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(BaseException):
                    await task
            code, reason = self._closing or (1000, "")
            # A console that does not read may not take the close either.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code, reason), 2.0)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _reader(self) -> None:
        from agentdesk.api.wire import decode_frame

        while self._closing is None:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            try:
                frame = decode_frame(data)
            except (msgspec.DecodeError, ValueError) as exc:
                call_id = _call_id(data)
                if call_id is None:
                    self._refuse_frame(f"unreadable frame: {exc}")
                    return
                # A call the hub cannot read is refused alone: the console goes on.
                refusal = Error(id=call_id, code=ErrorCode.INVALID, message=f"malformed {exc}")
                try:
                    self.send(encode_frame(refusal).decode())
                except Stalled:
                    self._stalled()
                    return
                continue
            try:
                if isinstance(frame, Call):
                    await self._calls.acquire()
                    self._spawn(self._call(frame))
                elif isinstance(frame, Subscribe):
                    await self._resubscribe(frame.since)
                else:
                    self._refuse_frame(f"a console does not send {type(frame).__name__} frames")
                    return
            except Stalled:
                self._stalled()
                return

    def _refuse_frame(self, why: str) -> None:
        log.warning("%s sent a bad frame: %s", self.agent.name, why)
        self.close(CLOSE_PROTOCOL, "protocol", why)

    def _stalled(self) -> None:
        log.warning("%s's console stopped reading; it is disconnected", self.agent.name)
        self._closing = (CLOSE_TOO_SLOW, "too_slow")
        self._abort()

    async def _call(self, call: Call) -> None:
        started = time.perf_counter()
        request = call.request
        ok = False
        self.in_flight += 1
        try:
            if request.command and not self._accepting():
                raise DeskError(
                    "the hub is restarting: the command was not applied; it is sent "
                    "again once the console reconnects",
                    ErrorCode.UNAVAILABLE,
                )
            answer = await self.desk.handle(self.actor, request, command_id=call.id)
            reply = result_frame(call.id, encode(answer)).decode()
            ok = True
        except DeskError as exc:
            reply = encode_frame(Error(id=call.id, code=exc.code, message=exc.message)).decode()
        except Exception as exc:
            log.exception("%s failed for %s", _op(request), self.agent.name)
            problem = f"the hub failed on this request ({type(exc).__name__}); see its log"
            failure = Error(id=call.id, code=ErrorCode.INTERNAL, message=problem)
            reply = encode_frame(failure).decode()
        finally:
            self.in_flight -= 1
            self._calls.release()
        self._observe(_op(request), time.perf_counter() - started, ok)
        try:
            self.send(reply)
        except Stalled:
            self._stalled()

    async def _resubscribe(self, since: int) -> None:
        """Replace the stream: the old one stops, ``subscribed`` marks where the new begins."""
        if self._stream is not None:
            self._stream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stream
        self.send(encode_frame(Subscribed(since=since)).decode())
        self._stream = self._spawn(self._follow(since))

    async def _follow(self, since: int) -> None:
        try:
            async for published in self.desk.subscribe(self.actor, since):
                self.send(published.frame)
        except Stalled:
            self._stalled()


class _AnyCall(msgspec.Struct):
    type: str
    id: str


def _call_id(data: str | bytes) -> str | None:
    """The id of a call frame whose request could not be read, if it has one."""
    try:
        frame = msgspec.json.decode(data, type=_AnyCall)
    except (msgspec.DecodeError, ValueError):
        return None
    return frame.id[:100] if frame.type == "call" else None


def _op(request: rq.Request) -> str:
    return str(type(request).__struct_config__.tag)
