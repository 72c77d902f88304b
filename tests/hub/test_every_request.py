"""Every request type × every role, over a real hub: refused as ``forbidden``
exactly when the permission table says (the least role each request needs,
and an agent's reach: tasks of their teams, of no team, or their own)."""

from __future__ import annotations

import pytest

from agentdesk.api import DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.core.desk.authorize import LEAST_ROLE
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.domain import Priority, Status

ROLES = [Role.AGENT, Role.LEAD, Role.ADMIN]


def examples(task_id: str, customer_id: str, other_customer: str) -> dict[type, rq.Request]:
    """One request of every type, about ``task_id`` where it names a task."""
    made: dict[type, rq.Request] = {
        rq.GetSnapshot: rq.GetSnapshot(),
        rq.GetTask: rq.GetTask(task_id=task_id),
        rq.TaskByNumber: rq.TaskByNumber(number=1001),
        rq.GetThread: rq.GetThread(task_id=task_id),
        rq.GetCustomer: rq.GetCustomer(customer_id=customer_id),
        rq.GetTimeline: rq.GetTimeline(customer_id=customer_id),
        rq.Search: rq.Search(query="hello"),
        rq.ListChannels: rq.ListChannels(),
        rq.GetCrmProfile: rq.GetCrmProfile(customer_id=customer_id),
        rq.Reply: rq.Reply(task_id=task_id, text="hi"),
        rq.AddNote: rq.AddNote(task_id=task_id, text="a note"),
        rq.SetStatus: rq.SetStatus(task_id=task_id, status=Status.PENDING),
        rq.Assign: rq.Assign(task_id=task_id, assignee=None),
        rq.Transfer: rq.Transfer(task_id=task_id, assignee="me", team=None, note=""),
        rq.Handoff: rq.Handoff(task_id=task_id, to_channel="sms", to_identity="+33600000000"),
        rq.SetPriority: rq.SetPriority(task_id=task_id, priority=Priority.HIGH),
        rq.SetTags: rq.SetTags(task_id=task_id, tags=["x"]),
        rq.MarkRead: rq.MarkRead(task_id=task_id),
        rq.Typing: rq.Typing(task_id=task_id, typing=True),
        rq.Focus: rq.Focus(task_id=task_id),
        rq.GetBoard: rq.GetBoard(),
        rq.GetReport: rq.GetReport(since=0.0, until=2e9, by="agent"),
        rq.MergeCustomers: rq.MergeCustomers(keep_id=customer_id, merge_id=other_customer),
        rq.ListAgents: rq.ListAgents(),
        rq.TakeNext: rq.TakeNext(),
        rq.CallBack: rq.CallBack(task_id=task_id),
        rq.ExplainRouting: rq.ExplainRouting(task_id=task_id),
        rq.AddAgent: rq.AddAgent(name="newcomer"),
        rq.RevokeAgent: rq.RevokeAgent(name="someone"),
        rq.RotateToken: rq.RotateToken(name="someone"),
        rq.SetPresence: rq.SetPresence(presence=Presence.AWAY),
    }
    assert set(made) == set(rq.REQUEST_TYPES), "a request type has no example here"
    return made


async def outcome(client, request: rq.Request) -> str:
    try:
        await client.request(request)
    except DeskError as exc:
        return "forbidden" if exc.code == ErrorCode.FORBIDDEN else "allowed"
    return "allowed"


@pytest.mark.parametrize("role", ROLES)
async def test_every_request_by_every_role_on_a_task_of_no_team(served, role):
    await served.token("someone")
    task = await served.write_in("a@b.co", "hello")
    other = await served.write_in("c@d.co", "hello too")
    client = await served.remote("me", role)
    for kind, request in examples(task.id, task.customer_id, other.customer_id).items():
        expected = "allowed" if role.at_least(LEAST_ROLE.get(kind, Role.ADMIN)) else "forbidden"
        assert await outcome(client, request) == expected, (kind.__name__, role)


@pytest.mark.parametrize("role", ROLES)
async def test_another_teams_task_is_read_by_all_and_changed_by_leads(served, role):
    task = await served.write_in("a@b.co", "hello")
    other = await served.write_in("c@d.co", "hello too")
    await served.desk.handle(DESK_ACTOR, rq.Transfer(task_id=task.id, team="billing"))
    client = await served.remote("me", role, teams=("support",))
    for kind, request in examples(task.id, task.customer_id, other.customer_id).items():
        names_task = getattr(request, "task_id", None) == task.id
        if not names_task or kind in (rq.Typing,):  # typing: nothing to refuse offline
            continue
        # A call back is no command (never queued) but acts on the customer.
        acts = kind.command or kind is rq.CallBack
        expected = "forbidden" if acts and not role.at_least(Role.LEAD) else "allowed"
        assert await outcome(client, request) == expected, (kind.__name__, role)
