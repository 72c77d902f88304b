"""``route``, the pure assignment function: examples of each rule, then its
promises checked on random queues and teams (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.routing import AgentState, RoutingRules, WaitingTask, route
from agentdesk.routing.route import Pool, place, qualifies, queue_order

NOW = 1_000_000.0
RULES = RoutingRules()


def agent(name: str, **kw) -> AgentState:
    kw.setdefault("available", True)
    return AgentState(name=name, **kw)


def task(id: str, kind: str = "chat", waited: float = 0.0, **kw) -> WaitingTask:
    return WaitingTask(id=id, kind=kind, waiting_since=NOW - waited, **kw)


def assigned(tasks, agents, now=NOW, rules=RULES) -> dict[str, str]:
    return {a.task_id: a.agent for a in route(tasks, agents, now, rules)}


# --- the rules, one example each ------------------------------------------------------


def test_skills_decide_and_the_least_loaded_then_longest_idle_wins():
    agents = [
        agent("ann", skills=frozenset({"fr"}), load={"chat": 1}),
        agent("bob", skills=frozenset({"fr", "billing"}), load={"chat": 1}, idle_since=50),
        agent("cy", skills=frozenset({"fr", "billing"}), load={"chat": 1}, idle_since=10),
        agent("dee", skills=frozenset({"fr", "billing"}), load={"chat": 2}),
    ]
    got = assigned([task("t1", skills=frozenset({"fr", "billing"}))], agents)
    assert got == {"t1": "cy"}  # bob and cy tie on load; cy waited longer


def test_nobody_is_given_more_than_their_capacity_and_the_rest_waits():
    agents = [agent("ann", capacity={"chat": 2}), agent("bob", capacity={"chat": 1})]
    tasks = [task(f"t{n}", waited=100 - n) for n in range(5)]
    got = assigned(tasks, agents)
    assert sorted(got.values()) == ["ann", "ann", "bob"]
    assert set(got) == {"t0", "t1", "t2"}  # the longest waiting first


def test_away_and_offline_agents_get_nothing():
    agents = [agent("ann", available=False), agent("bob", available=False)]
    assert assigned([task("t1")], agents) == {}


def test_the_preferred_agent_first_and_waited_for_while_busy():
    agents = [agent("ann", load={"chat": 3}), agent("bob")]  # ann full on chat (3)
    fresh = task("t1", waited=10, preferred_agent="ann")
    assert assigned([fresh], agents) == {}  # the customer waits for ann a minute
    late = task("t1", waited=61, preferred_agent="ann")
    assert assigned([late], agents) == {"t1": "bob"}
    free = [agent("ann", load={"chat": 1}), agent("bob")]
    assert route([fresh], free, NOW)[0].target == "preferred"
    gone = [agent("ann", available=False), agent("bob")]
    assert assigned([fresh], gone) == {"t1": "bob"}  # not waited for when not there


def test_email_waits_longer_for_its_preferred_agent():
    agents = [agent("ann", load={"email": 10}), agent("bob")]
    hour = task("t1", kind="email", waited=3600, preferred_agent="ann")
    assert assigned([hour], agents) == {}
    assert assigned([task("t1", kind="email", waited=4 * 3600 + 1, preferred_agent="ann")], agents)


def test_primary_skill_then_overflow_as_the_task_waits():
    agents = [agent("ann", skills=frozenset({"billing"})), agent("bob")]
    wanted = frozenset({"billing", "de"})
    new = task("t1", skills=wanted, primary_skill="billing")
    assert assigned([new], agents) == {}
    two_minutes = task("t1", waited=121, skills=wanted, primary_skill="billing")
    assert route([two_minutes], agents, NOW)[0].target == "primary"
    no_primary = [agent("bob")]
    assert assigned([two_minutes], no_primary) == {}
    ten_minutes = task("t1", waited=601, skills=wanted, primary_skill="billing")
    assert route([ten_minutes], no_primary, NOW)[0].target == "overflow"


def test_a_teams_task_goes_to_its_team():
    agents = [agent("ann", teams=frozenset({"ops"})), agent("bob", teams=frozenset({"billing"}))]
    assert assigned([task("t1", team="billing", waited=999)], agents) == {"t1": "bob"}


def test_priority_first_and_aging_lets_the_old_pass_the_new():
    one = [agent("ann", capacity={"chat": 1})]
    urgent_new = task("urgent", priority=3, waited=0)
    normal_old = task("normal", priority=1, waited=60)
    assert assigned([normal_old, urgent_new], one) == {"urgent": "ann"}
    # After 20 minutes of waiting, 2 priority points are made up (0.1 a minute).
    normal_older = task("normal", priority=1, waited=21 * 60)
    assert assigned([normal_older, urgent_new], one) == {"normal": "ann"}


def test_a_total_limit_caps_every_kind_together():
    agents = [agent("ann", total_limit=2)]
    tasks = [task("c1"), task("e1", kind="email"), task("s1", kind="sms")]
    assert len(assigned(tasks, agents)) == 2


# --- promises, on random desks ---------------------------------------------------------

KINDS = ["chat", "email", "sms"]
SKILLS = ["fr", "en", "billing", "de"]
names = st.sampled_from([f"a{n}" for n in range(8)])


@st.composite
def desks(draw):
    agent_names = draw(st.lists(names, min_size=0, max_size=8, unique=True))
    agents = [
        AgentState(
            name=name,
            available=draw(st.booleans()),
            skills=frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=3))),
            teams=frozenset(draw(st.lists(st.sampled_from(["ops", "billing"]), max_size=2))),
            capacity={k: draw(st.integers(0, 3)) for k in KINDS},
            total_limit=draw(st.none() | st.integers(0, 5)),
            load={k: draw(st.integers(0, 2)) for k in KINDS},
            idle_since=draw(st.floats(0, NOW)),
        )
        for name in agent_names
    ]
    tasks = [
        WaitingTask(
            id=f"t{n}",
            kind=draw(st.sampled_from(KINDS)),
            skills=(wanted := frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=2)))),
            primary_skill=min(wanted) if wanted else None,
            priority=draw(st.integers(0, 3)),
            waiting_since=NOW - draw(st.floats(0, 7200)),
            preferred_agent=draw(st.none() | names),
            team=draw(st.none() | st.sampled_from(["ops", "billing"])),
        )
        for n in range(draw(st.integers(0, 25)))
    ]
    return tasks, agents


@settings(max_examples=150, deadline=None)
@given(desks())
def test_never_over_capacity_never_to_an_unavailable_or_unqualified_agent(desk):
    tasks, agents = desk
    by_name = {a.name: a for a in agents}
    by_id = {t.id: t for t in tasks}
    made = route(tasks, agents, NOW)
    assert len({a.task_id for a in made}) == len(made)  # each task once
    added: dict[tuple[str, str], int] = {}
    for a in made:
        who, what = by_name[a.agent], by_id[a.task_id]
        assert who.available
        added[(who.name, what.kind)] = added.get((who.name, what.kind), 0) + 1
        if a.target == "preferred":
            assert what.preferred_agent == who.name and what.skills <= who.skills
        elif a.target == "skills":
            assert qualifies(who, what.skills, what.team)
        elif a.target == "primary":
            assert what.primary_skill in who.skills
        else:
            assert what.team is None or what.team in who.teams
    for who in agents:
        for kind in KINDS:
            n = added.get((who.name, kind), 0)
            if n:
                assert who.load.get(kind, 0) + n <= who.capacity_for(kind)
        total = sum(n for (name, _), n in added.items() if name == who.name)
        if total and who.total_limit is not None:
            assert sum(who.load.values()) + total <= who.total_limit


@settings(max_examples=100, deadline=None)
@given(desks(), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order_of_the_lists(desk, shuffler: random.Random):
    tasks, agents = desk
    first = route(tasks, agents, NOW)
    tasks, agents = list(tasks), list(agents)
    shuffler.shuffle(tasks)
    shuffler.shuffle(agents)
    assert route(tasks, agents, NOW) == first


@settings(max_examples=100, deadline=None)
@given(desks())
def test_a_preferred_agent_is_never_skipped_while_eligible(desk):
    tasks, agents = desk
    by_name = {a.name: a for a in agents}
    made = {a.task_id: a for a in route(tasks, agents, NOW)}
    pool = Pool(sorted(agents, key=lambda a: a.name), NOW)
    for t in queue_order(tasks, NOW, RULES):
        preferred = by_name.get(t.preferred_agent or "")
        if t.id in made:
            chosen = made[t.id]
            if (
                preferred
                and qualifies(preferred, t.skills, None)
                and pool.fits(preferred.name, t.kind)
            ):
                assert chosen.agent == preferred.name
            pool.take(chosen.agent, t.kind)
        elif preferred and qualifies(preferred, t.skills, None):
            # Waiting while its preferred agent is there: only because they are full.
            assert not pool.fits(preferred.name, t.kind)


@settings(max_examples=100, deadline=None)
@given(desks())
def test_every_task_is_assigned_once_room_appears_and_nothing_starves(desk):
    tasks, _ = desk
    # Room for everyone: one agent with every skill and team, unlimited.
    room = [
        AgentState(
            name="all",
            available=True,
            skills=frozenset(SKILLS),
            teams=frozenset({"ops", "billing"}),
            capacity={k: 1000 for k in KINDS},
        )
    ]
    later = NOW + 4 * 3600 + 1  # past every wait and target's timeout
    assert {a.task_id for a in route(tasks, room, later)} == {t.id for t in tasks}


def test_a_lone_task_is_placed_the_same_way_route_places_it():
    agents = [agent("ann", skills=frozenset({"fr"})), agent("bob")]
    one = task("t1", skills=frozenset({"fr"}))
    assert place(one, Pool(agents, NOW), NOW, RULES) == route([one], agents, NOW)[0]


def test_explain_names_each_agent_passed_over_and_the_decision():
    from agentdesk.routing.explain import explain, waiting_reason

    agents = [
        agent("ann", skills=frozenset({"fr"}), available=False),
        agent("bob", skills=frozenset({"fr", "billing"}), load={"chat": 3}),
        agent("cy"),
    ]
    wanted = task("t1", waited=30, skills=frozenset({"fr", "billing"}), primary_skill="fr")
    lines = explain(wanted, agents, NOW)
    assert lines[0] == "needs billing, fr (primary: fr); chat; priority 1; waiting 30 s"
    assert "  ann: not available (away or offline)" in lines
    assert "  bob: at capacity on chat (3/3)" in lines
    assert "  cy: lacks billing, fr" in lines
    assert lines[-1] == "decision: waits"
    assert waiting_reason(wanted, agents, NOW) == "everyone with billing, fr at capacity on chat"
    assert waiting_reason(task("t2", skills=frozenset({"de"})), agents, NOW) == "no agent has de"
    gone = [agent("ann", skills=frozenset({"fr"}), available=False)]
    assert waiting_reason(task("t3", skills=frozenset({"fr"})), gone, NOW) == (
        "no one available with fr"
    )
    later = explain(task("t1", waited=700, skills=frozenset({"de"})), agents, NOW)
    assert later[-1] == "decision: cy (overflow)"


def test_explain_says_why_the_preferred_agent_was_or_was_not_chosen():
    from agentdesk.routing.explain import explain

    agents = [agent("ann", load={"chat": 3}), agent("bob", skills=frozenset({"fr"}))]
    busy = explain(task("t1", waited=10, preferred_agent="ann"), agents, NOW)
    assert busy[1] == "preferred agent: ann — at capacity on chat (3/3); waited for up to 50 s more"
    assert busy[-1] == "decision: waits"
    unskilled = explain(task("t1", skills=frozenset({"fr"}), preferred_agent="ann"), agents, NOW)
    assert unskilled[1] == "preferred agent: ann — lacks fr"
    assert unskilled[-1] == "decision: bob (skills)"
