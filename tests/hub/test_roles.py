"""Permissions by role, over the wire: each row a role, a request and whether
the hub applies it or refuses it as ``forbidden`` (changing nothing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from agentdesk.api import DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import AgentInfo, AgentToken
from agentdesk.core.desk.desk import DESK_ACTOR

OK = None
FORBIDDEN = ErrorCode.FORBIDDEN

#: (role, request made of the tasks set up below, outcome). The agent is in team
#: "support"; "bobs" is assigned to bob, "free" to nobody, "billing" is team billing's.
CASES: list[tuple[Role, Any, ErrorCode | None]] = [
    (Role.AGENT, lambda t: rq.AddAgent(name="eve"), FORBIDDEN),
    (Role.AGENT, lambda t: rq.RevokeAgent(name="bob"), FORBIDDEN),
    (Role.AGENT, lambda t: rq.RotateToken(name="bob"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.AddAgent(name="eve"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.RevokeAgent(name="bob"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.RotateToken(name="bob"), FORBIDDEN),
    (Role.ADMIN, lambda t: rq.AddAgent(name="eve"), OK),
    (Role.ADMIN, lambda t: rq.RevokeAgent(name="bob"), OK),
    (Role.ADMIN, lambda t: rq.RotateToken(name="bob"), OK),
    (Role.AGENT, lambda t: rq.Assign(task_id=t["bobs"].id, assignee="me"), FORBIDDEN),
    (Role.AGENT, lambda t: rq.Assign(task_id=t["bobs"].id, assignee=None), FORBIDDEN),
    (Role.AGENT, lambda t: rq.Transfer(task_id=t["bobs"].id, assignee="me"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.Assign(task_id=t["bobs"].id, assignee="me"), OK),
    (Role.LEAD, lambda t: rq.Transfer(task_id=t["bobs"].id, assignee="me"), OK),
    (Role.AGENT, lambda t: rq.Assign(task_id=t["free"].id, assignee="me"), OK),
    (Role.AGENT, lambda t: rq.Assign(task_id=t["free"].id, assignee="bob"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.Assign(task_id=t["free"].id, assignee="bob"), OK),
    (Role.AGENT, lambda t: rq.AddNote(task_id=t["billing"].id, text="mine?"), FORBIDDEN),
    (Role.LEAD, lambda t: rq.AddNote(task_id=t["billing"].id, text="mine?"), OK),
    (Role.AGENT, lambda t: rq.AddNote(task_id=t["bobs"].id, text="seen"), OK),
    (Role.AGENT, lambda t: rq.ListAgents(), OK),
]


def _id(case: tuple[Role, Any, ErrorCode | None]) -> str:
    role, make, outcome = case
    request = make({k: SimpleNamespace(id=k) for k in ("bobs", "free", "billing")})
    target = getattr(request, "task_id", None) or getattr(request, "name", "")
    if hasattr(request, "assignee"):
        target += f"->{request.assignee}"
    op = type(request).__struct_config__.tag
    return f"{role}-{op}-{target}-{'ok' if outcome is None else outcome}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
async def test_what_each_role_may_do_over_the_wire(served, case):
    role, make, outcome = case
    await served.token("bob")
    tasks = {
        "bobs": await served.write_in("a@b.co", "one"),
        "free": await served.write_in("c@d.co", "two"),
        "billing": await served.write_in("e@f.co", "three"),
    }
    await served.desk.handle(DESK_ACTOR, rq.Assign(task_id=tasks["bobs"].id, assignee="bob"))
    await served.desk.handle(DESK_ACTOR, rq.Transfer(task_id=tasks["billing"].id, team="billing"))
    client = await served.remote("me", role, teams=("support",))
    request = make(tasks)
    before = served.desk.store.seq
    if outcome is None:
        answer = await client.request(request)
        if isinstance(request, rq.AddAgent | rq.RotateToken):
            assert isinstance(answer, AgentToken) and answer.token
        elif isinstance(request, rq.RevokeAgent):
            assert isinstance(answer, AgentInfo) and answer.revoked
        elif isinstance(request, rq.Assign | rq.Transfer):
            assert answer.assignee == request.assignee
        if request.command:
            assert served.desk.store.seq > before
        return
    with pytest.raises(DeskError) as caught:
        await client.request(request)
    assert caught.value.code == outcome, caught.value
    assert caught.value.message.strip()
    assert served.desk.store.seq == before  # refused: nothing committed
    assert len(client.journal) == 0  # and not kept to be sent again
    assert client.link.queued == 0  # nor shown as waiting
    assert served.desk.store.get_task(tasks["bobs"].id).assignee == "bob"
