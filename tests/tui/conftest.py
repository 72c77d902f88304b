"""Fixtures for the console tests: a real desk (SQLite store with its search
index, fixed clock) reached through the in-process client, and helpers to drive it."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from agentdesk.api import ChannelStatus, DeskClient, Role
from agentdesk.api import requests as rq
from agentdesk.api.wire import MAX_FRAME
from agentdesk.core.config import HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.host.http_server import DeskHttpServer
from agentdesk.core.hub import Hub
from agentdesk.domain import Task
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.remote.connector import HubConnector
from agentdesk.store.sqlite_store import SqliteStore
from agentdesk.tui import AgentDeskApp

from .sample_desk import empty_desk, fill

CONSOLE_CHANNELS = {
    "mail": Capabilities(kind="email", identity_kind="email", threading=True),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True, max_text_length=4000),
    "sms": Capabilities(kind="sms", identity_kind="phone", max_text_length=480, segment_length=160),
    "social": Capabilities(kind="social", identity_kind="social", max_text_length=280),
}


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    """Times on screen are local times: pin the zone so screens are reproducible."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class LocalConnector:
    """The smallest DeskConnector over a desk the test built. ``prepare`` runs
    once, in the console's event loop, before the first client is handed out
    (the sample desk fills itself there)."""

    def __init__(
        self,
        desk: Desk,
        me: str = "ana",
        *,
        prepare: Callable[[Desk], Awaitable[None]] | None = None,
        client: Callable[[Desk, str], LocalDeskClient] = LocalDeskClient,
    ) -> None:
        self.desk = desk
        self.me = me
        self.opened = 0
        self.closed = 0
        self._prepare = prepare
        self._client = client

    async def open(self) -> LocalDeskClient:
        if self._prepare is not None:
            prepare, self._prepare = self._prepare, None
            await prepare(self.desk)
        self.opened += 1
        return self._client(self.desk, self.me)

    async def close(self) -> None:
        self.closed += 1


class ServedConnector:
    """The same desk behind a real hub on a loopback port: the console connects
    as ``me`` (an admin, as the embedded agent is) over a websocket. The hub is
    started in the console's own event loop when the console opens the desk."""

    def __init__(self, desk: Desk, me: str = "ana", role: Role = Role.ADMIN) -> None:
        self.desk = desk
        self.me = me
        self.role = role
        self.connector: HubConnector | None = None
        self.opened = 0
        self.closed = 0

    async def start_hub(self, port: int = 0) -> str:
        self.http = DeskHttpServer(HttpConfig(port=port), ws_max_size=MAX_FRAME)
        self.hub = Hub(self.desk, self.http)
        self.hub.start()
        return await self.http.start()

    async def stop_hub(self) -> None:
        """The hub goes away (the desk stays); ``start_hub(port)`` brings it back."""
        await self.hub.close()
        await self.http.stop()

    async def open(self) -> DeskClient:
        self.opened += 1
        base = await self.start_hub()
        known = self.desk.agents.get(self.me) is not None  # a second console of the test
        request: rq.Request = (
            rq.RotateToken(name=self.me) if known else rq.AddAgent(name=self.me, role=self.role)
        )
        made = await self.desk.handle(DESK_ACTOR, request)
        self.connector = HubConnector(base.replace("http://", "ws://") + "/desk", made.token)
        return await self.connector.open()

    async def close(self) -> None:
        self.closed += 1
        if self.connector is not None:
            await self.connector.close()
            await self.hub.close()
            await self.http.stop()


def sample_connector(me: str = "ana") -> LocalConnector:
    """A connector to the sample desk (``sample_desk.py``), filled when the console opens it."""
    return LocalConnector(empty_desk(), me, prepare=fill)


@pytest.fixture
def console_desk(clock, tmp_path: Path) -> Desk:
    store = SqliteStore.open(tmp_path / "store")
    desk = Desk(store, clock=clock)
    for name, caps in CONSOLE_CHANNELS.items():
        desk.register_channel(
            ChannelStatus(name=name, plugin="test", capabilities=caps, state=HealthState.UP)
        )
    yield desk
    desk.close()
    store.close()


async def seed(desk: Desk, clock) -> list[Task]:
    """Three customers writing on three channels, the oldest first."""
    items = [
        (
            "chat",
            InboundMessage(
                "sess-ana",
                "Hi, my order #4411 arrived broken. Refund?",
                customer_name="Ana García",
                other_identities=(("email", "ana@example.com"),),
            ),
        ),
        (
            "mail",
            InboundMessage(
                "bo@example.org",
                "The March invoice lacks the VAT number.",
                customer_name="Bo Chen",
                subject="Invoice VAT",
            ),
        ),
        (
            "sms",
            InboundMessage(
                "+34600111222", "Is the store open on Sunday?", customer_name="Cy Adeyemi"
            ),
        ),
    ]
    tasks = []
    for channel, item in items:
        result = await desk.ingest(channel, item)
        tasks.append(result.task)
        clock.advance(600)
    return tasks


@pytest.fixture
def console_mode() -> str:
    """``local`` (the desk in the console's process) unless a module asks for both."""
    return "local"


@pytest.fixture
def make_app(console_desk: Desk, clock, console_mode: str) -> Callable[..., AgentDeskApp]:
    def make(**kwargs) -> AgentDeskApp:
        kwargs.setdefault("search_delay", 0)
        kwargs.setdefault("clock", clock)
        me = kwargs.pop("me", "ana")
        connector: LocalConnector | ServedConnector = (
            ServedConnector(console_desk, me)
            if console_mode == "hub"
            else LocalConnector(console_desk, me)
        )
        return AgentDeskApp(connector, **kwargs)

    return make


async def until(pilot, predicate: Callable[[], object], tries: int = 200) -> None:
    """Let the app run until ``predicate()`` holds (workers finish, updates land)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause()
    raise AssertionError("the console never reached the expected state")


async def ready(pilot) -> None:
    """Wait for the snapshot to be on screen."""
    app = pilot.app
    await until(pilot, lambda: app.client is not None and app.main.index.known() > 0)
    await pilot.pause()


def screen_text(app: AgentDeskApp) -> str:
    """What the terminal shows, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def notices(app: AgentDeskApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


REQUIRE = os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1"
