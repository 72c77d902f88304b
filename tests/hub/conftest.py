"""A real hub on loopback, reached from outside as a console would reach it.

``Served`` runs a desk behind ``DeskHttpServer`` + ``Hub`` on a free loopback
port and can stop and start them again on the same port over the same desk
(a hub restart). Tests talk to it with raw ``websockets`` connections, to see
the frames and close codes themselves, and with ``RemoteDeskClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentdesk import __version__
from agentdesk.api import Role
from agentdesk.api import requests as rq
from agentdesk.api.wire import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    Hello,
    Welcome,
    decode_frame,
    encode_frame,
)
from agentdesk.core.config import HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.core.host.http_server import DeskHttpServer
from agentdesk.core.hub import Hub
from agentdesk.plugin import InboundMessage
from agentdesk.remote import RemoteDeskClient

#: Small, so presence tests do not wait the real five seconds.
GRACE = 0.05


async def until(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll ``check`` (sync or async) until it is truthy; its value, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


def hello(token: str, protocol: int = PROTOCOL_VERSION) -> str:
    return encode_frame(Hello(protocol=protocol, client=__version__, token=token)).decode()


async def recv(ws: ClientConnection, timeout: float = 5.0) -> Any:
    """The next frame, decoded."""
    return decode_frame(await asyncio.wait_for(ws.recv(), timeout))


async def until_closed(ws: ClientConnection, timeout: float = 5.0) -> tuple[list[Any], int | None]:
    """Every frame left, and the close code the hub sent (None: no close frame)."""
    frames: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                frames.append(decode_frame(await ws.recv()))
    except ConnectionClosed as exc:
        return frames, exc.rcvd.code if exc.rcvd is not None else None
    except TimeoutError:
        pytest.fail(f"the hub did not close the connection; it sent {frames}")


class Served:
    """One desk behind a hub on loopback."""

    def __init__(self, desk: Desk, *, offline_grace: float = GRACE, ssl: Any = None) -> None:
        self.desk = desk
        self.offline_grace = offline_grace
        self.ssl = ssl
        self.port = 0
        self.http: DeskHttpServer | None = None
        self.hub: Hub | None = None
        self.remotes: list[RemoteDeskClient] = []
        self.sockets: list[ClientConnection] = []

    async def start(self) -> None:
        """Serve on ``self.port`` (a free one the first time)."""
        # The frame limit as ``agentdesk serve`` sets it (``HubService``).
        self.http = DeskHttpServer(HttpConfig(port=self.port), ssl=self.ssl, ws_max_size=MAX_FRAME)
        self.hub = Hub(self.desk, self.http, offline_grace=self.offline_grace)
        self.hub.start()
        await self.http.start()
        self.port = self.http.port or 0

    async def stop(self) -> None:
        """Stop the hub and its server (the desk stays): consoles lose the connection."""
        if self.hub is not None:
            await self.hub.close()
        if self.http is not None:
            await self.http.stop()

    @property
    def base(self) -> str:
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base.replace("http", "ws", 1) + "/desk"

    async def token(self, name: str, role: Role = Role.AGENT, teams: tuple[str, ...] = ()) -> str:
        made = await self.desk.handle(DESK_ACTOR, rq.AddAgent(name=name, role=role, teams=teams))
        return made.token

    async def remote(
        self,
        name: str = "ana",
        role: Role = Role.AGENT,
        *,
        token: str | None = None,
        teams: tuple[str, ...] = (),
        **options: Any,
    ) -> RemoteDeskClient:
        """A connected ``RemoteDeskClient`` (its agent added unless ``token`` is given)."""
        token = token or await self.token(name, role, teams)
        options.setdefault("first_delay", 0.02)
        options.setdefault("max_delay", 0.1)
        client = RemoteDeskClient(self.url, token, **options)
        self.remotes.append(client)
        await client.connect()
        # Its coming online is written to the store (agent time) in the
        # background: done before the test counts the store's seq.
        await self.desk.activity.drain()
        return client

    async def socket(self, **options: Any) -> ClientConnection:
        """A raw websocket to ``/desk``, nothing said yet."""
        ws = await connect(self.url, open_timeout=5, ping_interval=None, **options)
        self.sockets.append(ws)
        return ws

    async def welcomed(self, token: str, **options: Any) -> ClientConnection:
        """A raw websocket that said hello and was welcomed."""
        ws = await self.socket(**options)
        await ws.send(hello(token))
        answer = await recv(ws)
        assert isinstance(answer, Welcome), answer
        return ws

    async def write_in(self, identity: str, text: str, channel: str = "mail") -> Any:
        """A customer writes; the task it landed in."""
        result = await self.desk.ingest(channel, InboundMessage(identity, text))
        return result.task

    async def close(self) -> None:
        for client in self.remotes:
            await client.close()
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
        await self.stop()
        self.desk.close()


@pytest.fixture
async def served(desk: Desk) -> AsyncIterator[Served]:
    """The root conftest's desk (channels registered, fixed clock) behind a live hub."""
    made = Served(desk)
    await made.start()
    yield made
    await made.close()
