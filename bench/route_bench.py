"""How long routing takes to decide: one new task, and a full re-plan.

A seeded desk of 10,000 waiting tasks and 500 agents (skills, teams, loads,
some away); ``route`` beside a naive router that scans every agent for every
task with the same rules, in the same run (the ratio holds on a noisy machine;
the absolute times drift).

    python bench/route_bench.py [--tasks 10000] [--agents 500] [--runs 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentdesk.routing import AgentState, Assignment, RoutingRules, WaitingTask, route
from agentdesk.routing.route import Pool, place, qualifies, queue_order, targets_for

NOW = 1_790_000_000.0
KINDS = ["chat", "email", "sms", "social", "phone"]
SKILLS = ["en", "fr", "de", "es", "billing", "tech", "returns", "vip"]
TEAMS = ["support", "billing", "ops"]


def desk(tasks: int, agents: int, seed: int = 7) -> tuple[list[WaitingTask], list[AgentState]]:
    rng = random.Random(seed)
    staff = [
        AgentState(
            name=f"agent{n:03}",
            available=rng.random() < 0.8,
            skills=frozenset(rng.sample(SKILLS, rng.randint(1, 4))),
            teams=frozenset(rng.sample(TEAMS, rng.randint(1, 2))),
            load={k: rng.randint(0, 2) for k in KINDS},
            idle_since=NOW - rng.uniform(0, 3600),
        )
        for n in range(agents)
    ]
    queue = []
    for n in range(tasks):
        wanted = frozenset(rng.sample(SKILLS, rng.randint(0, 2)))
        queue.append(
            WaitingTask(
                id=f"t{n:05}",
                kind=rng.choice(KINDS),
                skills=wanted,
                primary_skill=min(wanted) if wanted else None,
                priority=rng.choice([0, 1, 1, 1, 2, 3]),
                waiting_since=NOW - rng.uniform(0, 7200),
                preferred_agent=rng.choice([None, None, rng.choice(staff).name]),
                team=rng.choice([None, *TEAMS]),
            )
        )
    return queue, staff


def naive_route(
    tasks: list[WaitingTask], agents: list[AgentState], now: float, rules: RoutingRules
) -> list[Assignment]:
    """The same rules, the obvious way: every agent looked at for every task."""
    pool = Pool(sorted(agents, key=lambda a: a.name), now)
    made = []
    for task in queue_order(tasks, now, rules):
        chosen = place_naively(task, pool, now, rules)
        if chosen is not None:
            pool.take(chosen.agent, task.kind)
            made.append(chosen)
    return made


def place_naively(
    task: WaitingTask, pool: Pool, now: float, rules: RoutingRules
) -> Assignment | None:
    preferred = pool.agents.get(task.preferred_agent or "")
    if preferred is not None and qualifies(preferred, task.skills, None):
        if pool.fits(preferred.name, task.kind):
            return Assignment(task.id, preferred.name, "preferred")
        if now - task.waiting_since < rules.preferred_wait(task.kind):
            return None
    for name, skills, team in targets_for(task, now, rules):
        best = None
        for agent in pool.agents.values():
            if qualifies(agent, skills, team) and pool.fits(agent.name, task.kind):
                key = (pool.load[agent.name].get(task.kind, 0), pool.idle[agent.name], agent.name)
                best = key if best is None or key < best else best
        if best is not None:
            return Assignment(task.id, best[2], name)
    return None


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    tasks, agents = desk(args.tasks, args.agents)
    rules = RoutingRules()
    fast = route(tasks, agents, NOW, rules)
    assert fast == naive_route(tasks, agents, NOW, rules), "the two routers disagree"
    print(f"{args.tasks:,} waiting tasks, {args.agents} agents: {len(fast):,} assigned per pass")

    # One new task: the pool as it stands, one decision (what a message arriving costs).
    rng = random.Random(3)
    new = [rng.choice(tasks) for _ in range(args.runs * 50)]
    one_fast, one_naive = [], []
    for task in new:
        for out, fn in ((one_fast, place), (one_naive, place_naively)):
            started = time.perf_counter()
            fn(task, Pool(agents, NOW), NOW, rules)
            out.append((time.perf_counter() - started) * 1000)
    full_fast = timed(lambda: route(tasks, agents, NOW, rules), args.runs)
    full_naive = timed(lambda: naive_route(tasks, agents, NOW, rules), max(3, args.runs // 5))

    print(f"{'':28}{'route':>12}{'naive':>12}{'ratio':>8}")
    rows = [
        ("one new task, p50 (ms)", statistics.median(one_fast), statistics.median(one_naive)),
        ("one new task, p99 (ms)", p99(one_fast), p99(one_naive)),
        ("full re-plan, p50 (ms)", statistics.median(full_fast), statistics.median(full_naive)),
        ("full re-plan, max (ms)", max(full_fast), max(full_naive)),
    ]
    for label, mine, theirs in rows:
        print(f"{label:28}{mine:12.2f}{theirs:12.2f}{theirs / mine:8.1f}x")
    print("budget: one new task p99 <= 2 ms, full re-plan <= 200 ms")


if __name__ == "__main__":
    main()
