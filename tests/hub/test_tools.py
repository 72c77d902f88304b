"""A tool that asks the hub (``agentdesk agents``, ``route explain``) is not a
console: its connection does not show the agent online, so routing gives it
nothing; the same token in a console does."""

from __future__ import annotations

from agentdesk.api import Role
from agentdesk.api.agents import Presence

from .conftest import until


def presence_of(served, name: str) -> Presence:
    return next(a.presence for a in served.desk.agent_list() if a.name == name)


async def test_a_tools_connection_leaves_its_agent_offline(served):
    token = await served.token("root", Role.ADMIN)
    tool = await served.remote(token=token, presence=False)
    assert tool.me == "root"
    assert presence_of(served, "root") == Presence.OFFLINE
    console = await served.remote(token=token)
    await until(lambda: presence_of(served, "root") == Presence.ONLINE, what="root online")
    await console.close()
    # The tool is still connected, but only a console holds the agent online.
    await until(lambda: presence_of(served, "root") == Presence.OFFLINE, what="root offline")
    assert tool.link.state == "online"
