"""``route``: which waiting task goes to which agent, now.

A pure function of the queue, the agents and the time. Tasks are taken in
queue order — priority plus what they gained by waiting (aging), then the
longest waiting — and each goes to the first target that has someone:

1. its *preferred* agent (the last who served the customer), if available
   and with the skills; while within ``preferred_wait`` and that agent is
   only at capacity, the task waits for them;
2. agents with *all* its skills (of its team, when it has one);
3. after ``primary_after``, agents with its *primary* skill;
4. after ``overflow_after``, any available agent of its team: the overflow.

Within a target the least loaded on the task's channel kind wins, then the
longest idle, then the name (so the answer never depends on list order).
Nobody is given more than their capacity on a kind, or their total limit.

Loads only grow during one pass, so a target that found nobody for one task
finds nobody for the next task asking the same: that is remembered, and each
target keeps its candidates in a heap (checked lazily against the current
loads), which keeps a full re-plan of thousands of tasks fast.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from .model import AgentState, Assignment, RoutingRules, WaitingTask

#: A target: (its name, the skills it needs, the team it is limited to).
Target = tuple[str, frozenset[str], str | None]


def queue_order(tasks: Iterable[WaitingTask], now: float, rules: RoutingRules) -> list[WaitingTask]:
    """Tasks as the queue serves them: highest aged priority, then oldest, then id."""

    def key(task: WaitingTask) -> tuple[float, float, str]:
        waited = max(0.0, now - task.waiting_since)
        return (
            -(task.priority + rules.aging_per_minute * waited / 60.0),
            task.waiting_since,
            task.id,
        )

    return sorted(tasks, key=key)


def targets_for(task: WaitingTask, now: float, rules: RoutingRules) -> list[Target]:
    """The targets after the preferred agent, those whose time has come."""
    waited = now - task.waiting_since
    targets: list[Target] = [("skills", task.skills, task.team)]
    if task.primary_skill and waited >= rules.primary_after:
        targets.append(("primary", frozenset({task.primary_skill}), task.team))
    if waited >= rules.overflow_after:
        targets.append(("overflow", frozenset(), task.team))
    return targets


def qualifies(agent: AgentState, skills: frozenset[str], team: str | None) -> bool:
    """Available, with the skills, of the team (a task of no team: anyone)."""
    return agent.available and skills <= agent.skills and (team is None or team in agent.teams)


class Pool:
    """The agents during one pass: loads as assignments are made."""

    def __init__(self, agents: Iterable[AgentState], now: float) -> None:
        self.agents = {agent.name: agent for agent in agents}
        self.load = {name: dict(agent.load) for name, agent in self.agents.items()}
        self.total = {name: sum(agent.load.values()) for name, agent in self.agents.items()}
        self.idle = {name: agent.idle_since for name, agent in self.agents.items()}
        self.now = now
        self._heaps: dict[tuple[Target, str], list[tuple[int, float, str]]] = {}
        # Who qualifies for a target, by set operations (in C) rather than a
        # look at every agent: each target's members are worked out once.
        self._available = {name for name, agent in self.agents.items() if agent.available}
        self._with: dict[str, set[str]] = {}
        self._in_team: dict[str, set[str]] = {}
        for name in self._available:
            for skill in self.agents[name].skills:
                self._with.setdefault(skill, set()).add(name)
            for team in self.agents[name].teams:
                self._in_team.setdefault(team, set()).add(name)
        self._members: dict[Target, set[str]] = {}

    def members(self, target: Target) -> set[str]:
        """The available agents with the target's skills, of its team."""
        found = self._members.get(target)
        if found is None:
            _name, skills, team = target
            found = set(self._available)
            for skill in skills:
                found &= self._with.get(skill, set())
            if team is not None:
                found &= self._in_team.get(team, set())
            self._members[target] = found
        return found

    def fits(self, name: str, kind: str) -> bool:
        agent = self.agents[name]
        if self.load[name].get(kind, 0) >= agent.capacity_for(kind):
            return False
        return agent.total_limit is None or self.total[name] < agent.total_limit

    def best(self, target: Target, kind: str) -> str | None:
        """The least loaded, longest idle agent of ``target`` with room on ``kind``."""
        heap = self._heaps.get((target, kind))
        if heap is None:
            heap = [self._entry(n, kind) for n in self.members(target) if self.fits(n, kind)]
            heapq.heapify(heap)
            self._heaps[(target, kind)] = heap
        while heap:
            entry = heap[0]
            name = entry[2]
            if not self.fits(name, kind):
                heapq.heappop(heap)  # full for this pass: loads only grow
            elif entry != (current := self._entry(name, kind)):
                heapq.heapreplace(heap, current)  # it was given work since
            else:
                return name
        return None

    def take(self, name: str, kind: str) -> None:
        self.load[name][kind] = self.load[name].get(kind, 0) + 1
        self.total[name] += 1
        self.idle[name] = self.now

    def _entry(self, name: str, kind: str) -> tuple[int, float, str]:
        return (self.load[name].get(kind, 0), self.idle[name], name)


def place(
    task: WaitingTask,
    pool: Pool,
    now: float,
    rules: RoutingRules,
    nobody: set[tuple[Target, str]] | None = None,
) -> Assignment | None:
    """Where ``task`` goes now, or None: it waits (``nobody`` remembers the
    targets that found no one in this pass)."""
    preferred = pool.agents.get(task.preferred_agent or "")
    if preferred is not None and qualifies(preferred, task.skills, None):
        if pool.fits(preferred.name, task.kind):
            return Assignment(task.id, preferred.name, "preferred")
        if now - task.waiting_since < rules.preferred_wait(task.kind):
            return None  # they are busy but here: the customer waits for them a while
    for target in targets_for(task, now, rules):
        if nobody is not None and (target, task.kind) in nobody:
            continue
        name = pool.best(target, task.kind)
        if name is not None:
            return Assignment(task.id, name, target[0])
        if nobody is not None:
            nobody.add((target, task.kind))
    return None


def route(
    tasks: Iterable[WaitingTask],
    agents: Iterable[AgentState],
    now: float,
    rules: RoutingRules | None = None,
) -> list[Assignment]:
    """Assignments for the waiting ``tasks``, in queue order."""
    rules = rules or RoutingRules()
    pool = Pool(sorted(agents, key=lambda a: a.name), now)
    nobody: set[tuple[Target, str]] = set()
    made: list[Assignment] = []
    for task in queue_order(tasks, now, rules):
        assignment = place(task, pool, now, rules, nobody)
        if assignment is not None:
            pool.take(assignment.agent, task.kind)
            made.append(assignment)
    return made
