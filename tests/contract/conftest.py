"""The harness every desk client is tried through.

A harness gives the suite a desk to feed (customers writing in, time passing)
and clients acting as agents with a role and teams. ``local`` is the desk in
process behind ``LocalDeskClient``; ``hub`` is the same desk served by a real
hub on a loopback port, each agent a ``RemoteDeskClient`` with its own token
over a real websocket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentdesk.api import Actor, ChannelStatus, DeskClient, Role
from agentdesk.api import requests as rq
from agentdesk.core.config import HttpConfig
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.core.desk.stream import UpdateBus
from agentdesk.core.host.http_server import DeskHttpServer
from agentdesk.core.hub import Hub
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.remote import RemoteDeskClient
from agentdesk.store.memory import MemoryStore

CHANNELS = {
    "mail": Capabilities(kind="email", identity_kind="email", threading=True),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True, max_text_length=4000),
    "sms": Capabilities(kind="sms", identity_kind="phone", max_text_length=480),
    "phone": Capabilities(kind="phone", identity_kind="phone", outbound=False),
}
#: Updates the desk remembers for resuming: small, so a reset is cheap to provoke.
HISTORY = 20


class LocalHarness:
    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.desk = Desk(MemoryStore(), clock=clock, bus=UpdateBus(history=HISTORY))
        for name, caps in CHANNELS.items():
            self.desk.register_channel(
                ChannelStatus(name=name, plugin="test", capabilities=caps, state=HealthState.UP)
            )

    async def start(self) -> None:
        pass

    async def client(
        self, agent: str = "ana", role: Role = Role.ADMIN, teams: tuple[str, ...] = ()
    ) -> DeskClient:
        return LocalDeskClient(self.desk, Actor(agent=agent, role=role, teams=teams))

    async def write_in(self, identity: str, text: str, channel: str = "mail", **kw: Any) -> Any:
        """A customer writes; the task it landed in."""
        result = await self.desk.ingest(channel, InboundMessage(identity, text, **kw))
        return result.task

    async def close(self) -> None:
        self.desk.close()


class HubHarness(LocalHarness):
    """The desk behind a hub on loopback; each agent connects with their own token."""

    async def start(self) -> None:
        self.http = DeskHttpServer(HttpConfig(port=0))
        self.hub = Hub(self.desk, self.http)
        self.hub.start()
        base = await self.http.start()
        self.url = base.replace("http://", "ws://") + "/desk"
        self.clients: list[RemoteDeskClient] = []

    async def client(
        self, agent: str = "ana", role: Role = Role.ADMIN, teams: tuple[str, ...] = ()
    ) -> DeskClient:
        made = await self.desk.handle(DESK_ACTOR, rq.AddAgent(name=agent, role=role, teams=teams))
        client = RemoteDeskClient(self.url, made.token)
        await client.connect()
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.hub.close()
        await self.http.stop()
        await super().close()


@pytest.fixture(params=["local", "hub"])
async def harness(request: pytest.FixtureRequest, clock: Any) -> AsyncIterator[LocalHarness]:
    made = HubHarness(clock) if request.param == "hub" else LocalHarness(clock)
    await made.start()
    yield made
    await made.close()
