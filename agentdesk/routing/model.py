"""What routing decides from: waiting tasks, agents as they are now, the rules.

Plain frozen data, built by the desk from its store and the hub's presence;
nothing here reads a store, a clock or a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Tasks at once per channel kind, unless the agent's record says otherwise.
DEFAULT_CAPACITY: dict[str, int] = {"chat": 3, "email": 10, "sms": 5, "phone": 1, "social": 5}
#: Channel kinds whose customers wait live: a preferred agent is worth less time.
REALTIME_KINDS = frozenset({"chat", "sms", "phone", "social"})


@dataclass(frozen=True, slots=True)
class WaitingTask:
    """A task in the queue: open, unassigned."""

    id: str
    kind: str
    #: Every one of these the agent must have.
    skills: frozenset[str] = frozenset()
    #: The first rule's skill: the fallback target needs only this one.
    primary_skill: str | None = None
    #: Higher first: ``urgent`` 3, ``high`` 2, ``normal`` 1, ``low`` 0 (VIP adds).
    priority: int = 1
    #: Since when it waits (its creation, or its last return to the queue).
    waiting_since: float = 0.0
    #: The agent who served the customer last (or the one set on the customer).
    preferred_agent: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class AgentState:
    name: str
    #: Online and not away: the only agents work is given to.
    available: bool
    skills: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    #: Tasks at once per channel kind (missing kinds: ``DEFAULT_CAPACITY``).
    capacity: dict[str, int] = field(default_factory=dict)
    #: Tasks at once over every kind; None: no limit beyond the kinds'.
    total_limit: int | None = None
    #: Open tasks assigned now, per channel kind.
    load: dict[str, int] = field(default_factory=dict)
    #: When the agent last finished or was given a task (longest idle first).
    idle_since: float = 0.0

    def capacity_for(self, kind: str) -> int:
        return self.capacity.get(kind, DEFAULT_CAPACITY.get(kind, 1))


@dataclass(frozen=True, slots=True)
class RoutingRules:
    #: How long a task waits for its preferred agent, by channel kind.
    preferred_wait_realtime: float = 60.0
    preferred_wait_email: float = 4 * 3600.0
    #: After this long, agents with the primary skill alone are targets too.
    primary_after: float = 120.0
    #: After this long, any available agent of the task's team (or anyone,
    #: for a task of no team) is a target: the overflow.
    overflow_after: float = 600.0
    #: Priority points a task gains per minute of waiting, so nothing starves.
    aging_per_minute: float = 0.1

    def preferred_wait(self, kind: str) -> float:
        return self.preferred_wait_realtime if kind in REALTIME_KINDS else self.preferred_wait_email


@dataclass(frozen=True, slots=True)
class Assignment:
    task_id: str
    agent: str
    #: Which target gave it: ``preferred``, ``skills``, ``primary``, ``overflow``.
    target: str
