"""What a planner may read: the store's queries, the time, new ids, the channels
and who acts — and nothing it could change.

Planners are pure functions of a ``PlanContext`` and a request: they return a
``Plan`` (the batch to commit, the notices, the caller's answer) and the
pipeline alone commits and publishes it. The context is built on the store's
thread for one planning, so the store it holds is read there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from agentdesk.api import Actor, ChannelStatus
from agentdesk.api.errors import not_found
from agentdesk.domain import IdFactory, Task
from agentdesk.domain.identity_kinds import IdentityKinds
from agentdesk.store import Batch, Store

from .stream import Notice


def address(identity: str) -> str:
    """The address a channel writes to (``Outbound.to``) from a stored
    ``kind:value`` identity."""
    return identity.split(":", 1)[-1]


class Plan(NamedTuple):
    """A planner's answer: what to commit, whom to tell, what to return."""

    batch: Batch
    notices: list[Notice]
    result: Any


@dataclass(frozen=True, slots=True)
class PlanContext:
    #: Read through its queries only: the pipeline commits.
    store: Store
    now: float
    ids: IdFactory
    channels: Mapping[str, ChannelStatus]
    actor: Actor
    #: How addresses of each kind are read and compared.
    kinds: IdentityKinds
    #: (channel, to, text) -> why the channel will never send that reply.
    refusal: Callable[[str, str, str], str | None] | None = None

    def task(self, task_id: str) -> Task:
        """The task, or ``not_found`` for the agent."""
        task = self.store.get_task(task_id)
        if task is None:
            raise not_found(f"no task with id {task_id}")
        return task

    def channel(self, name: str) -> ChannelStatus | None:
        return self.channels.get(name)

    def event_base(self, task: Task, actor: str | None = None) -> dict[str, Any]:
        """The fields every new event of ``task`` starts with."""
        return {
            "id": self.ids.new(),
            "task_id": task.id,
            "customer_id": task.customer_id,
            "at": self.now,
            "actor": actor or self.actor.agent,
        }
