"""Tokens: revoking or rotating one puts out the console using it at once."""

from __future__ import annotations

import pytest

from agentdesk.api import ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.wire import CLOSE_REFUSED, CLOSE_REVOKED, Bye, Refused, Welcome
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.remote import HubRefused, LinkState

from .conftest import hello, recv, until, until_closed


def hellos(served, outcome: str) -> float:
    """How many hellos the hub counted with ``outcome``, read from its registry."""
    value = served.hub.metrics.registry.get_sample_value(
        "agentdesk_hellos_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_revoking_closes_the_raw_connection_with_the_revoked_code(served):
    ws = await served.welcomed(await served.token("ana"))
    other = await served.welcomed(await served.token("bob"))
    await served.desk.handle(DESK_ACTOR, rq.RevokeAgent(name="ana"))
    frames, code = await until_closed(ws)
    byes = [f for f in frames if isinstance(f, Bye)]
    assert [b.reason for b in byes] == ["revoked"] and code == CLOSE_REVOKED
    # Only ana's console: bob's is still served.
    await until(lambda: len(served.hub.sessions) == 1, what="ana's session to end")
    assert {s.agent.name for s in served.hub.sessions} == {"bob"}
    assert other.close_code is None


async def test_a_revoked_remote_client_refuses_requests_and_does_not_reconnect(served):
    task = await served.write_in("a@b.co", "hello")
    client = await served.remote("ana")
    assert (await client.get_task(task.id)).id == task.id
    welcomed = hellos(served, "welcomed")
    await served.desk.handle(DESK_ACTOR, rq.RevokeAgent(name="ana"))
    await until(lambda: client.link.state == LinkState.REFUSED, what="the link refused")
    assert "revoked" in client.link.detail
    for call in (client.get_task(task.id), client.note(task.id, "after revocation")):
        with pytest.raises(HubRefused) as caught:
            await call
        assert caught.value.code == ErrorCode.FORBIDDEN and "revoked" in caught.value.message
    # It gave up: its connection loop ended without another hello.
    await until(lambda: client._runner is not None and client._runner.done(), what="giving up")
    assert hellos(served, "welcomed") == welcomed and hellos(served, "refused") == 0
    assert len(client.journal) == 0  # the refused note was never queued
    assert served.hub.sessions == set()


async def test_rotating_puts_out_the_old_token_and_the_new_one_works(served):
    old_token = await served.token("ana", Role.LEAD)
    ws = await served.welcomed(old_token)
    rotated = await served.desk.handle(DESK_ACTOR, rq.RotateToken(name="ana"))
    assert rotated.token != old_token
    frames, code = await until_closed(ws)
    assert code == CLOSE_REVOKED and any(isinstance(f, Bye) for f in frames)
    # The old token is refused from now on...
    again = await served.socket()
    await again.send(hello(old_token))
    refusal = await recv(again)
    assert isinstance(refusal, Refused) and refusal.code == ErrorCode.FORBIDDEN
    assert (await until_closed(again))[1] == CLOSE_REFUSED
    # ...and the new one is welcomed, as the same agent with the same role.
    fresh = await served.socket()
    await fresh.send(hello(rotated.token))
    welcome = await recv(fresh)
    assert isinstance(welcome, Welcome) and (welcome.agent, welcome.role) == ("ana", "lead")
    client = await served.remote(token=rotated.token)
    assert client.me == "ana" and [c.name for c in await client.channels()]
