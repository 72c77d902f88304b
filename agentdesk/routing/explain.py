"""Why a task goes where it goes, or why it waits, in sentences.

``explain`` walks the same targets as ``place`` for one task, against the
agents as they are, and says for each agent why they were passed over.
``waiting_reason`` is the one line an inbox shows beside a waiting task.
"""

from __future__ import annotations

from .model import AgentState, RoutingRules, WaitingTask
from .route import Pool, place, targets_for


def why_not(agent: AgentState, task: WaitingTask, skills: frozenset[str], team: str | None) -> str:
    """Why ``agent`` cannot take ``task`` for a target, or "" when they can."""
    if not agent.available:
        return "not available (away or offline)"
    missing = sorted(skills - agent.skills)
    if missing:
        return "lacks " + ", ".join(missing)
    if team is not None and team not in agent.teams:
        return f"not in team {team}"
    load, room = agent.load.get(task.kind, 0), agent.capacity_for(task.kind)
    if load >= room:
        return f"at capacity on {task.kind} ({load}/{room})"
    total = sum(agent.load.values())
    if agent.total_limit is not None and total >= agent.total_limit:
        return f"at their total limit ({total}/{agent.total_limit})"
    return ""


def explain(
    task: WaitingTask, agents: list[AgentState], now: float, rules: RoutingRules | None = None
) -> list[str]:
    rules = rules or RoutingRules()
    lines = [
        f"needs {', '.join(sorted(task.skills)) or 'no skill'}"
        + (f" (primary: {task.primary_skill})" if task.primary_skill else "")
        + f"; {task.kind}; priority {task.priority}; waiting {now - task.waiting_since:.0f} s"
    ]
    if task.preferred_agent:
        preferred = next((a for a in agents if a.name == task.preferred_agent), None)
        wait = rules.preferred_wait(task.kind) - (now - task.waiting_since)
        if preferred is None:
            case = "no longer an agent"
        elif reason := why_not(preferred, task, task.skills, None):
            busy = reason.startswith("at ")  # at capacity, at their limit: still here
            case = f"{reason}; waited for up to {wait:.0f} s more" if busy and wait > 0 else reason
        else:
            case = "first choice"
        lines.append(f"preferred agent: {task.preferred_agent} — {case}")
    for name, skills, team in targets_for(task, now, rules):
        lines.append(
            f"target {name}: {', '.join(sorted(skills)) or 'any skill'}"
            + (f", team {team}" if team else "")
        )
        for agent in sorted(agents, key=lambda a: a.name):
            reason = why_not(agent, task, skills, team)
            lines.append(f"  {agent.name}: {reason or 'eligible'}")
    chosen = place(task, Pool(agents, now), now, rules)
    lines.append(f"decision: {chosen.agent} ({chosen.target})" if chosen else "decision: waits")
    return lines


def waiting_reason(
    task: WaitingTask, agents: list[AgentState], now: float, rules: RoutingRules | None = None
) -> str:
    """One line: "no one available with fr", "everyone with billing at capacity on chat"."""
    case, who = waiting_case(task, agents, now, rules)
    needs = ", ".join(sorted(task.skills))
    with_needs = f" with {needs}" if needs else ""
    if case == "preferred":
        return who
    if case == "unskilled":
        return f"no agent has {needs}" if needs else "no agents"
    if case == "absent":
        return f"no one available{with_needs}"
    return f"everyone{with_needs} at capacity on {task.kind}"


def waiting_word(
    task: WaitingTask, agents: list[AgentState], now: float, rules: RoutingRules | None = None
) -> str:
    """The same, in the few characters an inbox row has: "for sam", "no de",
    "away: fr", "all busy"."""
    case, who = waiting_case(task, agents, now, rules)
    needs = ",".join(sorted(task.skills))
    if case == "preferred":
        return f"for {who.split()[2]}"
    if case == "unskilled":
        return f"no {needs}" if needs else "no agents"
    if case == "absent":
        return f"away: {needs}" if needs else "all away"
    return "all busy"


def waiting_case(
    task: WaitingTask, agents: list[AgentState], now: float, rules: RoutingRules | None = None
) -> tuple[str, str]:
    """Why ``task`` waits: ``preferred`` (with the sentence saying for whom),
    ``unskilled`` (nobody has its skills), ``absent`` (those who have them are
    away) or ``busy`` (they are at capacity)."""
    rules = rules or RoutingRules()
    preferred = next((a for a in agents if a.name == task.preferred_agent), None)
    wait = rules.preferred_wait(task.kind) - (now - task.waiting_since)
    if preferred is not None and preferred.available and wait > 0:
        return "preferred", f"waiting for {preferred.name} ({wait:.0f} s more)"
    skilled = [a for a in agents if task.skills <= a.skills]
    if not skilled:
        return "unskilled", ""
    if not any(a.available for a in skilled):
        return "absent", ""
    return "busy", ""
