"""The hub: one desk served to many consoles over a websocket.

``Hub`` adds three routes to the desk's HTTP server: ``/desk`` (the consoles'
websocket, see docs/protocol.md), ``/healthz`` and ``/metrics``. It checks
each console's hello, keeps presence (online while a console is connected,
offline a short grace after the last one leaves), puts out consoles whose
token is revoked or rotated the moment that change commits, and drains on
shutdown: no new commands, in-flight ones finished, consoles told the hub is
restarting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

import msgspec

from agentdesk import __version__
from agentdesk.api import Actor, ErrorCode, Role
from agentdesk.api.agents import Presence
from agentdesk.api.wire import (
    CLOSE_PROTOCOL,
    CLOSE_REFUSED,
    CLOSE_RESTARTING,
    CLOSE_REVOKED,
    PROTOCOL_VERSION,
    Hello,
    Refused,
    Welcome,
    decode_frame,
    encode_frame,
)
from agentdesk.core.desk.agents import token_hash

from .metrics import CONTENT_TYPE, HubMetrics
from .session import Session

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

    from agentdesk.core.desk import Desk
    from agentdesk.core.host.http_server import DeskHttpServer

log = logging.getLogger("agentdesk.hub")

#: Time a console has to say hello.
HELLO_SECONDS = 10.0
#: Failed hellos an address may make per ``FAILED_WINDOW`` seconds.
FAILED_HELLOS = 10
FAILED_WINDOW = 60.0
#: A console reconnecting within this keeps its agent online.
OFFLINE_GRACE = 5.0


class Hub:
    def __init__(
        self,
        desk: Desk,
        http: DeskHttpServer,
        *,
        inbound: Any = None,
        offline_grace: float = OFFLINE_GRACE,
    ) -> None:
        self.desk = desk
        self.http = http
        self.sessions: set[Session] = set()
        self.accepting = True
        self.offline_grace = offline_grace
        self._failed: dict[str, deque[float]] = defaultdict(deque)
        self._offline_timers: dict[str, asyncio.TimerHandle] = {}
        self._watch: asyncio.Task[None] | None = None
        self.metrics = HubMetrics(desk, lambda: list(self.sessions), inbound or dict)
        http.add_websocket_route("/desk", self._console)
        http.add_route("/metrics", self._metrics)
        http.set_health(self.health)

    def start(self) -> None:
        """Begin watching the desk for revoked tokens (and counting updates)."""
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_agents(), name="hub-watch")

    # --- HTTP -----------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        reason = await self._unhealthy()
        body = {"status": "unavailable" if reason else "ok", "seq": self.desk.store.seq}
        if reason:
            body["reason"] = reason
        return JSONResponse(body, status_code=503 if reason else 200)

    async def _unhealthy(self) -> str | None:
        if not self.accepting:
            return "the hub is shutting down"
        if not self.desk.thread.alive:
            return "the store's writer thread has stopped"
        try:
            await asyncio.wait_for(self.desk.read(lambda: self.desk.store.seq, urgent=True), 2.0)
        except TimeoutError:
            return "the store did not answer within 2 s"
        except Exception as exc:
            return f"the store failed: {exc}"
        return None

    async def _metrics(self, request: Request) -> Response:
        from starlette.responses import Response

        return Response(self.metrics.text(), media_type=CONTENT_TYPE)

    # --- consoles -------------------------------------------------------------------

    async def _console(self, ws: WebSocket) -> None:
        await ws.accept()
        address = ws.client.host if ws.client else "?"
        session = await self._welcome(ws, address)
        if session is None:
            return
        self.sessions.add(session)
        if session.present:
            self._came(session.agent.name)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if session.present:
                self._left(session.agent.name)

    async def _welcome(self, ws: WebSocket, address: str) -> Session | None:
        """The session of a console whose hello holds, or None (told why, closed)."""
        if self._too_many_failures(address):
            await self._refuse(ws, ErrorCode.RATE_LIMITED, "too many failed hellos; wait a minute")
            return None
        try:
            message = await asyncio.wait_for(ws.receive(), HELLO_SECONDS)
        except TimeoutError:
            await self._refuse(ws, ErrorCode.INVALID, f"no hello within {HELLO_SECONDS:g} s")
            return None
        if message["type"] == "websocket.disconnect":
            return None
        try:
            hello = decode_frame(message.get("text") or message.get("bytes") or b"")
        except (msgspec.DecodeError, ValueError) as exc:
            self._failed_from(address)
            await self._refuse(ws, ErrorCode.INVALID, f"unreadable hello: {exc}", CLOSE_PROTOCOL)
            return None
        if not isinstance(hello, Hello):
            self._failed_from(address)
            what = type(hello).__name__.lower()
            await self._refuse(
                ws, ErrorCode.INVALID, f"say hello first, not {what}", CLOSE_PROTOCOL
            )
            return None
        if hello.protocol != PROTOCOL_VERSION:
            await self._refuse(
                ws,
                ErrorCode.INVALID,
                f"this console (agentdesk {hello.client[:40]}) speaks protocol {hello.protocol}; "
                f"the hub (agentdesk {__version__}) speaks {PROTOCOL_VERSION}: "
                "install the hub's version of agentdesk",
            )
            return None
        agent = self.desk.agents.authenticate(hello.token)
        if agent is None:
            self._failed_from(address)
            self.metrics.hellos.labels("refused").inc()
            # Never the token itself in the log.
            log.warning("refused a console from %s: unknown or revoked token", address)
            await self._refuse(ws, ErrorCode.FORBIDDEN, "unknown or revoked token")
            return None
        if not self.accepting:
            self.metrics.hellos.labels("restarting").inc()
            await self._refuse(ws, ErrorCode.UNAVAILABLE, "the hub is restarting", CLOSE_RESTARTING)
            return None
        self.metrics.hellos.labels("welcomed").inc()
        welcome = Welcome(
            agent=agent.name,
            role=str(agent.role),
            teams=list(agent.teams),
            hub=__version__,
            seq=self.desk.store.seq,
        )
        await ws.send_text(encode_frame(welcome).decode())
        log.info("%s (%s) connected from %s", agent.name, agent.role, address)
        session = Session(
            ws,
            self.desk,
            agent,
            token_hash(hello.token),
            accepting=lambda: self.accepting,
            observe=self.metrics.observe,
        )
        session.present = hello.presence
        return session

    async def _refuse(
        self, ws: WebSocket, code: ErrorCode, message: str, close: int = CLOSE_REFUSED
    ) -> None:
        with contextlib.suppress(Exception):
            await ws.send_text(encode_frame(Refused(code=code, message=message)).decode())
            await ws.close(close, code.value)

    def _failed_from(self, address: str) -> None:
        self._failed[address].append(time.monotonic())

    def _too_many_failures(self, address: str) -> bool:
        failures = self._failed.get(address)
        if not failures:
            return False
        while failures and time.monotonic() - failures[0] > FAILED_WINDOW:
            failures.popleft()
        if not failures:
            del self._failed[address]
        return len(failures) >= FAILED_HELLOS

    # --- presence ---------------------------------------------------------------------

    def _came(self, agent: str) -> None:
        timer = self._offline_timers.pop(agent, None)
        if timer is not None:
            timer.cancel()
        if self._presence(agent) == Presence.OFFLINE:
            self.desk.set_presence(agent, Presence.ONLINE)

    def _present(self, agent: str) -> bool:
        return any(s.agent.name == agent and s.present for s in self.sessions)

    def _left(self, agent: str) -> None:
        if self._present(agent):
            return

        def offline() -> None:
            self._offline_timers.pop(agent, None)
            if not self._present(agent):
                self.desk.set_presence(agent, Presence.OFFLINE)

        loop = asyncio.get_running_loop()
        self._offline_timers[agent] = loop.call_later(self.offline_grace, offline)

    def _presence(self, agent: str) -> Presence:
        info = next((a for a in self.desk.agent_list() if a.name == agent), None)
        return info.presence if info else Presence.OFFLINE

    # --- revocations and shutdown -------------------------------------------------------

    async def _watch_agents(self) -> None:
        watcher = Actor(agent="hub", role=Role.ADMIN)
        async for published in self.desk.subscribe(watcher, self.desk.store.seq):
            self.metrics.updates.inc()
            if published.update.agents:
                self.put_out_stale_tokens()

    def put_out_stale_tokens(self) -> None:
        """Close every console whose token no longer works (revoked or rotated)."""
        for session in list(self.sessions):
            if self.desk.agents.token_hash_of(session.agent.name) != session.token_hash:
                log.warning("%s's token no longer works: console closed", session.agent.name)
                session.close(CLOSE_REVOKED, "revoked", "your access was revoked")

    async def drain(self, timeout: float = 10.0) -> None:
        """Refuse new commands, finish those in flight, tell consoles the hub restarts."""
        self.accepting = False
        deadline = time.monotonic() + timeout
        while any(s.in_flight for s in self.sessions) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for session in list(self.sessions):
            session.close(
                CLOSE_RESTARTING, "restarting", "the hub is restarting; reconnecting shortly"
            )
        while self.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for timer in self._offline_timers.values():
            timer.cancel()
        self._offline_timers.clear()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
