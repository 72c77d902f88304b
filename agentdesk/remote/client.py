"""``RemoteDeskClient``: the desk client of team mode, over the hub's websocket.

It passes the same contract as the in-process client and keeps its promises
across a lost connection:

- it reconnects by itself, with capped exponential backoff and jitter, and
  says where it stands through ``on_link`` (online, offline and when it tries
  again, refused);
- a command is sent with an id it chose; one issued while offline waits in
  the journal and is sent after reconnecting, and one whose answer was lost
  is sent again with the same id — the hub applies each id once;
- the stream resumes from the last seq it delivered; when the hub no longer
  reaches back it delivers a ``reset`` update (reload a snapshot).

Reads need the hub: offline they are refused at once (``unavailable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl as ssl_module
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from agentdesk import __version__
from agentdesk.api import DeskError, ErrorCode, RequestMethods, Update
from agentdesk.api import requests as rq
from agentdesk.api.codec import decode, decode_result
from agentdesk.api.link import Link, LinkState
from agentdesk.api.wire import (
    CLOSE_REVOKED,
    MAX_ANSWER,
    MAX_FRAME,
    PROTOCOL_VERSION,
    Bye,
    Error,
    Hello,
    Refused,
    Result,
    Subscribe,
    Subscribed,
    UpdateFrame,
    Welcome,
    call_frame,
    decode_frame,
    encode_frame,
)

from .journal import CommandJournal, MemoryJournal

log = logging.getLogger("agentdesk.remote")

#: Reconnect delays: doubled from the first to the cap, each with jitter.
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
OPEN_TIMEOUT = 10.0
#: Requests that are worth nothing later: refused offline, never queued.
NOT_QUEUED = (rq.Typing,)


class HubRefused(DeskError):
    """The hub would not take this console (token, version); retrying will not help."""


class RemoteDeskClient(RequestMethods):
    """A ``DeskClient`` for a desk served by ``agentdesk serve`` at ``url``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        on_link: Callable[[Link], None] | None = None,
        journal: CommandJournal | None = None,
        ssl: ssl_module.SSLContext | None = None,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        presence: bool = True,
    ) -> None:
        """``presence``: this client is a console that shows its agent online;
        False for a tool (``agentdesk agents``, ``route``) that only asks."""
        self.url = url
        self._presence = presence
        self._token = token
        self._on_link = on_link
        self.journal = journal if journal is not None else MemoryJournal()
        self._ssl = ssl
        self._first_delay = first_delay
        self._max_delay = max_delay
        self.me = ""
        self.role = ""
        self.teams: tuple[str, ...] = ()
        self.hub_version = ""
        self.link = Link(LinkState.CONNECTING)
        self._ws: Any = None
        self._online = asyncio.Event()
        # Set once the link leaves ``connecting`` (online, offline or refused).
        self._settled = asyncio.Event()
        self._calls: dict[str, tuple[rq.Request, asyncio.Future[Any]]] = {}
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._fatal: DeskError | None = None
        # The one stream: its queue, the seq it resumes after, and which
        # ``subscribe`` it is (update frames before its ``subscribed`` are old).
        self._stream: asyncio.Queue[Update | None] | None = None
        self._stream_since = 0
        self._stream_number = 0
        self._acknowledged = -1
        self._subscribes_sent = 0

    # --- connection -------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and be welcomed, then stay connected in the background.

        Raises ``HubRefused`` when the hub refuses the token or the version, and
        ``DeskError`` (``unavailable``) when the hub cannot be reached."""
        if self._runner is not None:
            return
        try:
            ws = await self._open()
        except HubRefused as exc:
            self._set_link(Link(LinkState.REFUSED, exc.message))
            raise
        except (OSError, TimeoutError) as exc:
            raise DeskError(
                f"cannot reach the hub at {self.url}: {_why(exc)}", ErrorCode.UNAVAILABLE
            ) from None
        self._runner = asyncio.create_task(self._run(ws), name="desk-remote")
        # Back once the connection serves (or is lost already): a request made
        # right after ``connect`` is sent, not refused as offline.
        settled = asyncio.ensure_future(self._settled.wait())
        await asyncio.wait({settled, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        settled.cancel()

    async def _open(self) -> Any:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidURI

        try:
            ws = await connect(
                self.url,
                ssl=self._ssl if self.url.startswith("wss:") else None,
                max_size=MAX_ANSWER,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=20,
                ping_timeout=20,
            )
        except InvalidURI as exc:
            raise HubRefused(f"not a hub address: {exc}", ErrorCode.INVALID) from None
        except InvalidHandshake as exc:
            raise OSError(f"the server at {self.url} is not a hub ({exc})") from None
        try:
            hello = Hello(
                protocol=PROTOCOL_VERSION,
                client=__version__,
                token=self._token,
                presence=self._presence,
            )
            await ws.send(encode_frame(hello).decode())
            answer = decode_frame(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        except Exception as exc:
            await ws.close()
            if isinstance(exc, (OSError, TimeoutError)):
                raise
            raise OSError(f"the hub closed the connection during hello ({_why(exc)})") from None
        if isinstance(answer, Refused):
            await ws.close()
            if answer.code in (ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED):
                raise OSError(answer.message)
            raise HubRefused(f"the hub refused this console: {answer.message}", answer.code)
        if not isinstance(answer, Welcome):
            await ws.close()
            raise OSError(f"the hub answered hello with {type(answer).__name__}")
        self.me, self.role, self.teams = answer.agent, answer.role, tuple(answer.teams)
        self.hub_version = answer.hub
        return ws

    async def _run(self, ws: Any) -> None:
        delay = self._first_delay
        while not self._closed:
            started = time.monotonic()
            reason = await self._serve(ws)
            self._ws = None
            self._online.clear()
            self._lost_reads()
            if self._closed or self._fatal is not None:
                return
            if time.monotonic() - started > 10:
                delay = self._first_delay  # it was up a while: start over
            ws = None
            while ws is None and not self._closed:
                wait = min(delay, self._max_delay) * random.uniform(0.8, 1.2)
                delay = min(delay * 2, self._max_delay)
                self._set_link(
                    Link(
                        LinkState.OFFLINE,
                        reason,
                        retry_at=time.time() + wait,
                        queued=len(self.journal),
                    )
                )
                await asyncio.sleep(wait)
                try:
                    ws = await self._open()
                except HubRefused as exc:
                    self._give_up(exc)
                    return
                except (OSError, TimeoutError) as exc:
                    reason = _why(exc)

    async def _serve(self, ws: Any) -> str:
        """Resend what is unanswered, resubscribe, then read frames; why it ended."""
        from websockets.exceptions import ConnectionClosed

        self._subscribes_sent, self._acknowledged = 0, -1
        try:
            if self._stream is not None:
                await self._send_subscribe(ws)
            # Commands still unanswered, in the order they were made; any made
            # meanwhile join the end, until none is left unsent.
            sent: set[str] = set()
            while todo := [(i, r) for i, r in self.journal.pending() if i not in sent]:
                for call_id, request in todo:
                    await ws.send(call_frame(call_id, request))
                    sent.add(call_id)
            self._ws = ws
            self._online.set()
            self._set_link(Link(LinkState.ONLINE, queued=len(self.journal)))
            async for data in ws:
                self._frame(data)
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == CLOSE_REVOKED:
                self._give_up(HubRefused("your access was revoked", ErrorCode.FORBIDDEN))
            return _closed_reason(exc)
        except OSError as exc:
            return _why(exc)
        return "the hub closed the connection"

    def _frame(self, data: str | bytes) -> None:
        try:
            frame = decode_frame(data)
        except ValueError as exc:
            log.warning("unreadable frame from the hub: %s", exc)
            return
        if isinstance(frame, Result | Error):
            self._answered(frame)
        elif isinstance(frame, UpdateFrame):
            if self._stream is not None and self._acknowledged == self._stream_number:
                update: Update = decode(bytes(frame.update), Update)
                if update.seq > self._stream_since:
                    self._stream_since = update.seq
                self._stream.put_nowait(update)
        elif isinstance(frame, Subscribed):
            self._acknowledged += 1
        elif isinstance(frame, Bye):
            log.info("the hub closes the connection: %s", frame.message)

    def _answered(self, frame: Result | Error) -> None:
        restarting = isinstance(frame, Error) and frame.code == ErrorCode.UNAVAILABLE
        if restarting and self._journaled(frame.id):
            # The hub is restarting and did not apply it: it stays in the
            # journal and is sent again once reconnected, as the hub says.
            return
        call = self._calls.pop(frame.id, None)
        self.journal.done(frame.id)
        self._set_link(Link(self.link.state, self.link.detail, queued=len(self.journal)))
        if call is None:
            return
        request, future = call
        if future.done():
            return
        if isinstance(frame, Error):
            future.set_exception(DeskError(frame.message, frame.code))
            return
        try:
            future.set_result(decode_result(request, bytes(frame.value)))
        except DeskError as exc:
            future.set_exception(exc)

    def _journaled(self, call_id: str) -> bool:
        return any(pending == call_id for pending, _ in self.journal.pending())

    def _lost_reads(self) -> None:
        """Reads in flight when the connection went: refused (commands wait)."""
        for call_id, (request, future) in list(self._calls.items()):
            if not request.command or isinstance(request, NOT_QUEUED):
                self._calls.pop(call_id)
                if not future.done():
                    future.set_exception(_offline())

    def _give_up(self, error: DeskError) -> None:
        self._fatal = error
        self._set_link(Link(LinkState.REFUSED, error.message))
        for call_id, (_request, future) in list(self._calls.items()):
            self._calls.pop(call_id)
            if not future.done():
                future.set_exception(error)
        if self._stream is not None:
            self._stream.put_nowait(None)

    def watch_link(self, callback: Callable[[Link], None]) -> None:
        """Report the link now and on every change to ``callback`` (one at a time)."""
        self._on_link = callback
        callback(self.link)

    def _set_link(self, link: Link) -> None:
        self.link = link
        if link.state != LinkState.CONNECTING:
            self._settled.set()
        if self._on_link is not None:
            self._on_link(link)

    # --- DeskClient -----------------------------------------------------------------

    async def request(self, request: rq.Request) -> Any:
        if self._fatal is not None:
            raise self._fatal
        queued = request.command and not isinstance(request, NOT_QUEUED)
        if not queued and self._ws is None:
            raise _offline()
        call_id = uuid.uuid4().hex
        frame = call_frame(call_id, request)
        if len(frame) > MAX_FRAME // 4 and len(frame.encode()) > MAX_FRAME:
            # The hub would close the connection on it, and again on each resend.
            raise DeskError(
                f"this request is too large to send (at most {MAX_FRAME // 1024} KiB)",
                ErrorCode.INVALID,
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = (request, future)
        if queued:
            self.journal.add(call_id, request)
            self._set_link(
                Link(self.link.state, self.link.detail, self.link.retry_at, len(self.journal))
            )
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):  # a lost connection resends it
                await ws.send(frame)
        try:
            return await future
        finally:
            self._calls.pop(call_id, None)

    async def subscribe(self, since: int) -> AsyncIterator[Update]:
        """Updates after ``since``; a second call ends the first one's stream."""
        if self._stream is not None:
            self._stream.put_nowait(None)
        queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._stream, self._stream_since = queue, since
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await self._send_subscribe(ws)
        try:
            while True:
                update = await queue.get()
                if update is None:
                    return
                yield update
        finally:
            if self._stream is queue:
                self._stream = None

    async def _send_subscribe(self, ws: Any) -> None:
        self._stream_number = self._subscribes_sent
        self._subscribes_sent += 1
        await ws.send(encode_frame(Subscribe(since=self._stream_since)).decode())

    async def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.put_nowait(None)
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
            self._runner = None
        for _call_id, (_request, future) in list(self._calls.items()):
            if not future.done():
                future.set_exception(_offline())
        self._calls.clear()


def _offline() -> DeskError:
    return DeskError("offline: the console is reconnecting to the hub", ErrorCode.UNAVAILABLE)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _closed_reason(exc: Any) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None and rcvd.reason:
        return f"the hub closed the connection ({rcvd.reason})"
    return "the connection to the hub was lost"
