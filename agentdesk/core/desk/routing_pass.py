"""The desk's routing pass: the queue and the agents as the store and the hub
know them now, handed to ``agentdesk.routing.route``, its answer committed.

A pass runs shortly after any change that can move work (a task arrives,
closes or is let go, an agent comes or goes), as one plan of the pipeline:
it reads, decides and commits in one step on the store's thread, so the
loads it counts are the loads it changes. Each assignment is an
``Assignment`` event by ``routing`` on the task's timeline, and the agent is
told "#1042 assigned to you".
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentdesk.api.agents import Presence
from agentdesk.api.errors import not_found
from agentdesk.domain import (
    Assignment,
    Direction,
    Event,
    Message,
    Note,
    Priority,
    Status,
    Task,
)
from agentdesk.domain.evolve import evolve
from agentdesk.routing import DEFAULT_CAPACITY, REALTIME_KINDS, AgentState, WaitingTask, route
from agentdesk.routing.explain import explain, waiting_word
from agentdesk.search.scan import matches, strong_parts, text_parts
from agentdesk.store import Batch

from ..language import LanguageDetector
from ..routing_config import RoutingConfig
from .agents import AgentBook
from .context import Plan, PlanContext
from .stream import Notice

KINDS = (*DEFAULT_CAPACITY, "unknown")
#: The actor routing's assignments are made by, on the timeline.
ROUTER = "routing"
PRIORITY_POINTS = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}
VIP_TAG = "vip"


@dataclass(frozen=True, slots=True)
class _Needs:
    """What the rules give a waiting task, worked out once from its first message."""

    skills: frozenset[str]
    primary: str | None
    #: Priority points the matching rules add.
    points: int = 0


class RoutingPass:
    """Plans the assignments of one pass (see the module's words)."""

    def __init__(self, config: RoutingConfig, detector: LanguageDetector | None = None) -> None:
        """``detector``: the language of a first message becomes a skill (and the
        primary one): built by the caller, off the event loop (it loads models)."""
        self.config = config
        self.detector = detector
        # The skills a task needs follow from its first message: worked out once.
        self._skills: dict[str, _Needs] = {}
        #: Why each task the last pass left waiting waits, in a word (task id -> word).
        self.reasons: dict[str, str] = {}

    def plan(
        self,
        ctx: PlanContext,
        presence: Mapping[str, Presence],
        book: AgentBook,
        gone_since: Mapping[str, float] | None = None,
    ) -> Plan:
        """``gone_since``: since when each agent who is not online has been away
        or offline (their live conversations go back after ``away_grace``)."""
        live = ctx.store.tasks([Status.OPEN, Status.PENDING])
        tasks: list[Task] = []
        events: list[Event] = []
        notices: list[Notice] = []
        returned = self._returned(ctx, live, gone_since or {}, tasks, events)
        live = [returned.get(t.id, t) for t in live]
        waiting = [t for t in live if t.status == Status.OPEN and t.assignee is None]
        if not waiting:
            self.reasons = {}
            return Plan(Batch(tasks=tasks, events=events), [], 0)
        agents = agent_states(live, presence, book)
        by_id = {task.id: task for task in waiting}
        queue = [self.waiting_task(ctx, task) for task in waiting]
        for task in waiting:
            named = self.named_skills(ctx, task)
            if named != task.skills:
                # Written once: the inbox shows what a waiting task needs.
                tasks.append(evolve(task, skills=named, updated_at=ctx.now))
        made = route(queue, agents, ctx.now, self.config.rules)
        self.reasons = self._reasons(queue, {a.task_id for a in made}, agents, ctx.now)
        for chosen in made:
            task = by_id[chosen.task_id]
            event = Assignment(
                **ctx.event_base(task, ROUTER), old_assignee=None, new_assignee=chosen.agent
            )
            named = self.named_skills(ctx, task)
            tasks.append(evolve(task, assignee=chosen.agent, skills=named, updated_at=ctx.now))
            events.append(event)
            notices.append(Notice(f"{task.label} assigned to you", chosen.agent))
        for task_id in [t for t in self._skills if t not in by_id]:
            del self._skills[task_id]  # assigned or closed: not asked again
        # A task returned and given again in this pass: its last version only.
        latest = {task.id: task for task in tasks}
        batch = Batch(tasks=list(latest.values()), events=events)
        return Plan(batch, notices, len(notices))

    def _reasons(
        self, queue: list[WaitingTask], assigned: set[str], agents: list[AgentState], now: float
    ) -> dict[str, str]:
        """Why each task left waiting waits, in a word for the inbox. Tasks
        alike (skills, kind, preferred agent) share one answer: a pass over
        ten thousand tasks asks a few dozen questions."""
        rules = self.config.rules
        present = {agent.name for agent in agents if agent.available}
        known: dict[tuple[frozenset[str], str], str] = {}
        found = {}
        for task in queue:
            if task.id in assigned:
                continue
            preferred = task.preferred_agent
            if preferred in present and now - task.waiting_since < rules.preferred_wait(task.kind):
                found[task.id] = f"for {preferred}"  # the agents need not be looked at
                continue
            key = (task.skills, task.kind)
            word = known.get(key)
            if word is None:
                alike = dataclasses.replace(task, preferred_agent=None)
                word = known[key] = waiting_word(alike, agents, now, rules)
            found[task.id] = word
        return found

    def named_skills(self, ctx: PlanContext, task: Task) -> list[str]:
        """The skills routing reads on ``task``, the primary first: shown in the
        inbox, searchable, and what an assignment can be checked against."""
        skills, primary = self.skills_of(ctx, task)
        named = [primary] if primary else []
        return named + sorted(skills - set(named))

    def _returned(
        self,
        ctx: PlanContext,
        live: list[Task],
        gone_since: Mapping[str, float],
        tasks: list[Task],
        events: list[Event],
    ) -> dict[str, Task]:
        """Live conversations of agents gone longer than the grace, back in the queue."""
        grace = self.config.away_grace
        back: dict[str, Task] = {}
        for task in live:
            since = gone_since.get(task.assignee or "")
            if (
                since is None
                or task.status != Status.OPEN
                or task.channel_kind not in REALTIME_KINDS
            ):
                continue
            if ctx.now - since < grace:
                continue
            gone = f"{task.assignee} has been away for {(ctx.now - since) / 60:.0f} min"
            events.append(
                Assignment(
                    **ctx.event_base(task, ROUTER), old_assignee=task.assignee, new_assignee=None
                )
            )
            events.append(Note(**ctx.event_base(task, ROUTER), text=f"Back in the queue: {gone}."))
            updated = evolve(task, assignee=None, waiting_since=ctx.now, updated_at=ctx.now)
            tasks.append(updated)
            back[task.id] = updated
        return back

    def take_next(
        self, ctx: PlanContext, presence: Mapping[str, Presence], book: AgentBook
    ) -> Plan:
        """Pull: the first task of the queue routing would give the actor now."""
        me = ctx.actor.agent
        live = ctx.store.tasks([Status.OPEN, Status.PENDING])
        waiting = [t for t in live if t.status == Status.OPEN and t.assignee is None]
        mine = [a for a in agent_states(live, presence, book) if a.name == me]
        # Asking is being there. The one agent of an embedded desk is in no
        # book: they take anything, with no capacity to surprise them.
        taker = (
            dataclasses.replace(mine[0], available=True)
            if mine
            else AgentState(name=me, available=True, capacity=dict.fromkeys(KINDS, 10**6))
        )
        queue = [self.waiting_task(ctx, task) for task in waiting]
        chosen = next(iter(route(queue, [taker], ctx.now, self.config.rules)), None)
        if chosen is None:
            why = "nothing waits" if not waiting else "nothing waiting is yours to take now"
            raise not_found(f"{why} (skills, team, or your capacity on its channel)")
        task = next(t for t in waiting if t.id == chosen.task_id)
        event = Assignment(**ctx.event_base(task), old_assignee=None, new_assignee=me)
        updated = evolve(task, assignee=me, updated_at=ctx.now)
        return Plan(Batch(tasks=[updated], events=[event]), [], updated)

    def explain(
        self, ctx: PlanContext, task: Task, presence: Mapping[str, Presence], book: AgentBook
    ) -> list[str]:
        """Why the task is where it is: the rules it matched, each agent's case."""
        if task.assignee:
            return [f"{task.label} is assigned to {task.assignee}"]
        if task.status != Status.OPEN:
            return [f"{task.label} is {task.status}: only open tasks wait in the queue"]
        agents = agent_states(ctx.store.tasks([Status.OPEN, Status.PENDING]), presence, book)
        lines = [] if self.config.enabled else ["routing is off: people assign tasks"]
        return lines + explain(self.waiting_task(ctx, task), agents, ctx.now, self.config.rules)

    def waiting_task(self, ctx: PlanContext, task: Task) -> WaitingTask:
        needs = self._needs(ctx, task)
        points = PRIORITY_POINTS.get(task.priority, 1) + (1 if VIP_TAG in task.tags else 0)
        return WaitingTask(
            id=task.id,
            kind=task.channel_kind,
            skills=needs.skills,
            primary_skill=needs.primary,
            priority=points + needs.points,
            waiting_since=task.waiting_since or task.created_at,
            preferred_agent=preferred_agent(ctx, task),
            team=task.team,
        )

    def skills_of(self, ctx: PlanContext, task: Task) -> tuple[frozenset[str], str | None]:
        """The skills of every rule the task matches; the first one's first is primary."""
        needs = self._needs(ctx, task)
        return needs.skills, needs.primary

    def forget(self, task_ids: Iterable[str]) -> None:
        """Work these tasks' needs out again at the next pass (their customer's
        fields changed)."""
        for task_id in task_ids:
            self._skills.pop(task_id, None)

    def _needs(self, ctx: PlanContext, task: Task) -> _Needs:
        known = self._skills.get(task.id)
        if known is not None:
            return known
        needed: list[str] = list(task.skills)
        events = ctx.store.events_of_task(task.id)
        language = self.config.channel_languages.get(task.channel) or self._language(task, events)
        if language:
            needed.insert(0, language)  # a customer's language comes before the topic
        points = 0
        customer = ctx.store.get_customer(task.customer_id)
        if customer is not None and self.config.skill_rules:
            parts = strong_parts(task, customer) + text_parts(events)
            for rule in self.config.skill_rules:
                if rule.customer and not rule.matches_customer(customer.attributes):
                    continue
                if rule.when is None or matches(rule.when, task, customer, parts, None, ctx.now):
                    needed.extend(rule.skills)
                    points += rule.priority
        ordered = tuple(dict.fromkeys(needed))
        found = _Needs(frozenset(ordered), ordered[0] if ordered else None, points)
        self._skills[task.id] = found
        return found

    def _language(self, task: Task, events: list[Event]) -> str | None:
        if self.detector is None:
            return None
        first = next(
            (e for e in events if isinstance(e, Message) and e.direction == Direction.INBOUND),
            None,
        )
        text = " ".join(part for part in (task.subject, first.text if first else "") if part)
        return self.detector.detect(text[:2000])


def agent_states(
    live: list[Task], presence: Mapping[str, Presence], book: AgentBook
) -> list[AgentState]:
    """Every working agent with their presence and their open tasks per kind."""
    load: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for task in live:
        if task.assignee:
            load[task.assignee][task.channel_kind] += 1
    return [
        AgentState(
            name=info.name,
            available=presence.get(info.name) == Presence.ONLINE,
            skills=frozenset(info.skills),
            teams=frozenset(info.teams),
            capacity=dict(info.capacity),
            total_limit=info.total_limit,
            load=dict(load.get(info.name, {})),
            idle_since=info.created_at,
        )
        for info in book.all()
        if not info.revoked
    ]


#: A customer attribute naming their agent (an account manager, set by a
#: channel or an import) wins over who served them last.
AGENT_ATTRIBUTE = "agent"


def preferred_agent(ctx: PlanContext, task: Task) -> str | None:
    """The customer's own agent (their ``agent`` attribute), else the agent who
    last had one of this customer's other tasks."""
    customer = ctx.store.get_customer(task.customer_id)
    named = customer.attributes.get(AGENT_ATTRIBUTE, "").strip() if customer else ""
    if named:
        return named.lower()
    earlier = [
        t
        for t in ctx.store.tasks_of_customer(task.customer_id)
        if t.id != task.id and t.assignee and t.assignee != ROUTER
    ]
    if not earlier:
        return None
    return max(earlier, key=lambda t: t.updated_at).assignee
