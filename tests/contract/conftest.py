"""The harness every desk client is tried through.

A harness gives the suite a desk to feed (customers writing in, time passing)
and clients acting as agents with a role and teams. ``local`` is the desk in
process behind ``LocalDeskClient``; a client over the network joins the
``params`` of ``harness`` and passes the same tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentdesk.api import Actor, ChannelStatus, DeskClient, Role
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.core.desk.stream import UpdateBus
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
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

    def client(
        self, agent: str = "ana", role: Role = Role.ADMIN, teams: tuple[str, ...] = ()
    ) -> DeskClient:
        return LocalDeskClient(self.desk, Actor(agent=agent, role=role, teams=teams))

    async def write_in(self, identity: str, text: str, channel: str = "mail", **kw: Any) -> Any:
        """A customer writes; the task it landed in."""
        result = await self.desk.ingest(channel, InboundMessage(identity, text, **kw))
        return result.task

    def close(self) -> None:
        self.desk.close()


@pytest.fixture(params=["local"])
async def harness(request: pytest.FixtureRequest, clock: Any) -> AsyncIterator[LocalHarness]:
    made = LocalHarness(clock)
    yield made
    made.close()
