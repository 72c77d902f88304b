"""Authorization: the one step that decides whether an actor may make a request.

One table gives the least role each request needs; on top of it, an agent
acts only on tasks of their teams, tasks of no team, and tasks assigned to
them. Leads and admins act on every task. Embedded, the one agent is an
admin, so nothing is refused there.
"""

from __future__ import annotations

from agentdesk.api import Actor, Role
from agentdesk.api import requests as rq
from agentdesk.api.errors import forbidden
from agentdesk.domain import Task

#: Managing agents.
ADMIN_ONLY = (rq.AddAgent, rq.RevokeAgent, rq.RotateToken)
#: The least role each request needs; a request missing here needs an admin.
#: What a team lead watches: the whole team's figures.
LEAD_ONLY = (rq.GetBoard, rq.GetReport)
LEAST_ROLE: dict[type[rq.Request], Role] = {
    **{
        kind: Role.AGENT
        for kind in rq.REQUEST_TYPES
        if kind not in ADMIN_ONLY and kind not in LEAD_ONLY
    },
    **{kind: Role.LEAD for kind in LEAD_ONLY},
}


def authorize(actor: Actor, request: rq.Request, task: Task | None) -> None:
    """Raise ``forbidden`` unless ``actor`` may make ``request`` (on ``task``, when
    it names one: the task as it is when the change is planned)."""
    least = LEAST_ROLE.get(type(request), Role.ADMIN)
    if not actor.role.at_least(least):
        raise forbidden(
            f"{actor.agent} ({actor.role}) may not {_what(request)}: that takes the {least} role"
        )
    if task is not None and not may_touch(actor, task):
        raise forbidden(f"{task.label} belongs to team {task.team}")
    if task is not None and isinstance(request, rq.Assign | rq.Transfer):
        _may_reassign(actor, task, request.assignee)


def _may_reassign(actor: Actor, task: Task, assignee: str | None) -> None:
    """An agent takes unassigned tasks and passes on their own; moving
    someone else's task, or giving an unassigned one away, needs a lead."""
    if actor.role.at_least(Role.LEAD):
        return
    if task.assignee not in (None, actor.agent):
        raise forbidden(f"{task.label} is {task.assignee}'s: reassigning it needs a lead")
    if task.assignee is None and assignee not in (None, actor.agent):
        raise forbidden(
            f"{task.label} is unassigned: an agent may take it; "
            f"giving it to {assignee} needs a lead"
        )


def may_touch(actor: Actor, task: Task) -> bool:
    """Whether ``actor`` may change ``task``."""
    if actor.role.at_least(Role.LEAD):
        return True
    return task.team is None or task.team in actor.teams or task.assignee == actor.agent


def _what(request: rq.Request) -> str:
    tag = type(request).__struct_config__.tag
    return str(tag).replace("_", " ")
