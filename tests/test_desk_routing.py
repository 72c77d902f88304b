"""The desk's routing pass: tasks assigned as they arrive, by skill rules,
capacity and the preferred agent; the backlog goes to whoever comes online."""

from __future__ import annotations

import asyncio

import pytest

from agentdesk.api import ChannelStatus, DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.core.config import ConfigError, parse_config
from agentdesk.core.desk import Desk
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.core.desk.ingest import IngestRules
from agentdesk.core.desk.routing_pass import ROUTER, RoutingPass
from agentdesk.domain import Assignment, Note, Status
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

CHANNELS = {
    "mail": Capabilities(kind="email", identity_kind="email"),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True),
}
ROUTING = {
    "enabled": True,
    "rules": [
        {"when": "rembourser OR remboursement", "skills": ["fr", "billing"]},
        {"when": "refund", "skills": ["billing"]},
    ],
}


@pytest.fixture
async def desk(clock):
    config = parse_config({"routing": ROUTING})
    made = Desk(MemoryStore(), clock=clock, routing=RoutingPass(config.routing))
    for name, caps in CHANNELS.items():
        made.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    yield made
    made.close()


async def agent(desk, name, *, skills=(), capacity=None, online=True):
    request = rq.AddAgent(name=name, role=Role.AGENT, skills=skills, capacity=capacity or {})
    await desk.handle(DESK_ACTOR, request)
    if online:
        desk.set_presence(name, Presence.ONLINE)


async def settled(desk) -> None:
    """Until no routing pass is due or running."""
    for _ in range(200):
        await asyncio.sleep(0.02)
        if desk._routing_soon is None and not desk._routing_runs:
            return
    raise AssertionError("routing never settled")


async def write(desk, who, text, channel="chat"):
    task = (await desk.ingest(channel, InboundMessage(who, text))).task
    await settled(desk)
    return desk.store.get_task(task.id)


async def test_a_task_goes_to_the_agent_with_its_skills_and_the_timeline_says_so(desk):
    await agent(desk, "ann", skills=("en",))
    await agent(desk, "bea", skills=("fr", "billing"))
    task = await write(desk, "c1", "Je voudrais me faire rembourser")
    assert task.assignee == "bea"
    [event] = [e for e in desk.store.events_of_task(task.id) if isinstance(e, Assignment)]
    assert event.actor == ROUTER and event.new_assignee == "bea"


async def test_capacity_holds_and_the_backlog_goes_to_who_comes_online(desk):
    await agent(desk, "ann", capacity={"chat": 1})
    await agent(desk, "bob", capacity={"chat": 2}, online=False)
    tasks = [await write(desk, f"c{n}", f"hello {n}") for n in range(3)]
    assert [t.assignee for t in tasks] == ["ann", None, None]
    desk.set_presence("bob", Presence.ONLINE)
    await settled(desk)
    assert [desk.store.get_task(t.id).assignee for t in tasks] == ["ann", "bob", "bob"]


async def test_a_closed_task_frees_room_for_the_next_one(desk):
    await agent(desk, "ann", capacity={"chat": 1})
    first = await write(desk, "c1", "one")
    second = await write(desk, "c2", "two")
    assert (first.assignee, second.assignee) == ("ann", None)
    await desk.handle(DESK_ACTOR, rq.SetStatus(task_id=first.id, status=Status.CLOSED))
    await settled(desk)
    assert desk.store.get_task(second.id).assignee == "ann"


async def test_a_returning_customer_gets_their_agent_though_another_is_freer(clock):
    config = parse_config({"routing": ROUTING})
    rules = IngestRules(reopen_window=0)  # writing again after a close: a new task
    desk = Desk(MemoryStore(), clock=clock, rules=rules, routing=RoutingPass(config.routing))
    desk.register_channel(ChannelStatus("chat", "test", CHANNELS["chat"], HealthState.UP))
    try:
        await agent(desk, "ann")
        first = await write(desk, "c1", "hello")
        other = await write(desk, "c2", "another customer")  # ann: one open task now
        assert (first.assignee, other.assignee) == ("ann", "ann")
        await desk.handle(DESK_ACTOR, rq.SetStatus(task_id=first.id, status=Status.CLOSED))
        await agent(desk, "bob")  # free, and ann is not
        clock.advance(60)
        again = await write(desk, "c1", "me again")
        assert again.id != first.id and again.customer_id == first.customer_id
        assert again.assignee == "ann"
    finally:
        desk.close()


async def test_away_agents_get_nothing(desk):
    await agent(desk, "ann")
    desk.set_presence("ann", Presence.AWAY)
    waiting = await write(desk, "c9", "anyone?")
    assert waiting.assignee is None
    desk.set_presence("ann", Presence.ONLINE)
    await settled(desk)
    assert desk.store.get_task(waiting.id).assignee == "ann"


async def test_the_assigned_agent_is_told(desk):
    await agent(desk, "ann")
    stream = desk.subscribe(rq_actor("ann"), desk.store.seq)
    task = await write(desk, "c1", "hello")

    async def told() -> None:
        async for published in stream:
            if f"{task.label} assigned to you" in published.update.notices:
                return

    await asyncio.wait_for(told(), 5)


def rq_actor(name):
    from agentdesk.api import Actor

    return Actor(agent=name, role=Role.AGENT)


def test_routing_rules_with_a_bad_condition_name_the_rule():
    bad = {"enabled": True, "rules": [{"when": "status:nope", "skills": ["x"]}]}
    with pytest.raises(ConfigError) as error:
        parse_config({"routing": bad}, source="team.toml")
    assert str(error.value).startswith("team.toml: routing.rules[0].when: ")


async def test_without_routing_nothing_is_assigned_by_itself(clock):
    desk = Desk(MemoryStore(), clock=clock)
    desk.register_channel(ChannelStatus("chat", "test", CHANNELS["chat"], HealthState.UP))
    await desk.handle(DESK_ACTOR, rq.AddAgent(name="ann"))
    desk.set_presence("ann", Presence.ONLINE)
    task = (await desk.ingest("chat", InboundMessage("c1", "hello"))).task
    await asyncio.sleep(0.2)
    assert desk.store.get_task(task.id).assignee is None
    desk.close()


async def test_the_first_messages_language_is_a_skill_unless_the_channel_has_one(clock):
    from agentdesk.core.language import LanguageDetector

    table = {"enabled": True, "languages": ["fr", "en"], "channel_languages": {"mail": "fr"}}
    config = parse_config({"routing": table}).routing
    routing = RoutingPass(config, LanguageDetector(config.languages))
    desk = Desk(MemoryStore(), clock=clock, routing=routing)
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    try:
        await agent(desk, "fanny", skills=("fr",))
        await agent(desk, "ed", skills=("en",))
        french = await write(desk, "c1", "Bonjour, je n'ai toujours pas reçu ma commande")
        english = await write(desk, "c2", "Hello, my parcel never arrived, can you check?")
        # The mail channel is French by config, whatever the words.
        mail = await write(desk, "c3@example.com", "Where is my order?", channel="mail")
        assert (french.assignee, english.assignee, mail.assignee) == ("fanny", "ed", "fanny")
        unclear = await write(desk, "c4", "ok")  # too short to tell: no language needed
        assert unclear.assignee in ("fanny", "ed")
        lines = await desk.handle(DESK_ACTOR, rq.ExplainRouting(task_id=french.id))
        assert lines == [f"{french.label} is assigned to fanny"]
    finally:
        desk.close()


def test_the_detector_declines_what_is_too_short_or_too_close():
    from agentdesk.core.language import LanguageDetector

    detector = LanguageDetector(["fr", "en"])
    assert detector.detect("Bonjour, où est mon colis ?") == "fr"
    assert detector.detect("Could you refund my last invoice please") == "en"
    assert detector.detect("ok") is None and detector.detect("#4471") is None
    assert LanguageDetector(["de"]).detect("anything at all") == "de"  # one language: it


def test_without_the_library_routing_by_language_says_how_to_get_it(monkeypatch):
    import builtins

    from agentdesk.core.language import LanguageDetector, LanguageUnavailable

    real_import = builtins.__import__

    def no_lingua(name, *args, **kwargs):
        if name == "lingua":
            raise ImportError("no module named lingua")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lingua)
    with pytest.raises(LanguageUnavailable) as missing:
        LanguageDetector(["fr", "en"])
    assert "pip install 'agentdesk[language]'" in str(missing.value)


def test_an_unknown_language_code_names_its_key():
    bad = {"enabled": True, "channel_languages": {"sms": "french"}}
    with pytest.raises(ConfigError) as error:
        parse_config({"routing": bad}, source="team.toml")
    assert "routing.channel_languages.sms: 'french' is not an ISO 639-1" in str(error.value)


async def test_take_next_gives_the_best_task_for_the_agent_or_says_why_not(clock):
    desk = Desk(MemoryStore(), clock=clock)  # routing off: pull still follows the rules
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    try:
        await desk.handle(DESK_ACTOR, rq.AddAgent(name="ann", capacity={"chat": 1}))
        ann = rq_actor("ann")
        old = (await desk.ingest("chat", InboundMessage("c1", "first"))).task
        clock.advance(60)
        await desk.ingest("chat", InboundMessage("c2", "second"))
        taken = await desk.handle(ann, rq.TakeNext())
        assert (taken.id, taken.assignee) == (old.id, "ann")  # the longest waiting
        with pytest.raises(DeskError) as full:
            await desk.handle(ann, rq.TakeNext())  # one chat at a time for ann
        assert full.value.code == ErrorCode.NOT_FOUND and "capacity" in str(full.value)
        # The one agent of an embedded desk (in no book) takes anything.
        solo = await desk.handle(rq_actor("you"), rq.TakeNext())
        assert solo.assignee == "you"
        with pytest.raises(DeskError) as empty:
            await desk.handle(rq_actor("you"), rq.TakeNext())
        assert "nothing waits" in str(empty.value)
    finally:
        desk.close()


async def test_an_away_agents_live_chats_go_back_after_the_grace_and_email_stays(clock):
    table = {**ROUTING, "away_grace": 0.3}
    desk = Desk(
        MemoryStore(), clock=clock, routing=RoutingPass(parse_config({"routing": table}).routing)
    )
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    try:
        await agent(desk, "ann")
        chat = await write(desk, "c1", "hello")
        mail = await write(desk, "c2@example.com", "hello by mail", channel="mail")
        assert (chat.assignee, mail.assignee) == ("ann", "ann")
        desk.set_presence("ann", Presence.AWAY)
        await agent(desk, "bob")
        clock.advance(1)  # past the grace on the desk's clock
        await asyncio.sleep(0.9)  # and the pass the grace scheduled has run
        await settled(desk)
        assert desk.store.get_task(chat.id).assignee == "bob"
        assert desk.store.get_task(mail.id).assignee == "ann"
        notes = [e.text for e in desk.store.events_of_task(chat.id) if isinstance(e, Note)]
        assert notes and notes[0].startswith("Back in the queue: ann has been away")
    finally:
        desk.close()


async def test_an_agents_total_limit_caps_every_kind_together(desk):
    await desk.handle(DESK_ACTOR, rq.AddAgent(name="ann", total_limit=2))
    desk.set_presence("ann", Presence.ONLINE)
    chat = await write(desk, "c1", "hello")
    mail = await write(desk, "c2@example.com", "hello", channel="mail")
    third = await write(desk, "c3", "and me?")
    assert (chat.assignee, mail.assignee, third.assignee) == ("ann", "ann", None)


async def test_a_customers_own_agent_is_preferred(desk):
    await agent(desk, "ann")
    await agent(desk, "bob")
    message = InboundMessage("c1", "hello", attributes={"agent": "Bob"})
    task = (await desk.ingest("chat", message)).task
    await settled(desk)
    assert desk.store.get_task(task.id).assignee == "bob"


async def test_consoles_hear_why_a_task_waits_in_a_word(desk):
    await agent(desk, "ann", capacity={"chat": 1})
    updates = desk.bus.subscribe(desk.store.seq)
    first = await write(desk, "c1", "hello")  # ann takes it
    waits = await write(desk, "c2", "hello again")  # ann is full
    french = await write(desk, "c3", "Je voudrais me faire rembourser")  # nobody has fr
    assert first.assignee == "ann" and waits.assignee is None
    said: dict[str, str] = {}
    while True:
        try:
            published = await asyncio.wait_for(anext(updates), 0.2)
        except TimeoutError:
            break
        said.update(published.update.waiting)
    assert said[waits.id] == "all busy"
    assert said[french.id] == "no billing,fr"
    assert first.id not in said
    snapshot = await desk.handle(DESK_ACTOR, rq.GetSnapshot())
    assert snapshot.waiting == {waits.id: "all busy", french.id: "no billing,fr"}
    # ann closes hers: the waiting one is hers now, and no longer said to wait.
    await desk.handle(DESK_ACTOR, rq.SetStatus(task_id=first.id, status=Status.CLOSED))
    await settled(desk)
    assert desk.store.get_task(waits.id).assignee == "ann"
    assert waits.id not in desk.waiting


async def test_a_customer_field_gives_skills_and_a_channel_gives_priority(clock):
    table = {
        "enabled": True,
        "rules": [
            {"customer": {"plan": ["Enterprise", "gold"]}, "skills": ["key-accounts"]},
            {"customer": {"plan": "gold"}, "when": "refund", "priority": 2},
            {"when": "channel:chat", "priority": 1},
        ],
    }
    config = parse_config({"routing": table}).routing
    desk = Desk(MemoryStore(), clock=clock, routing=RoutingPass(config))
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    try:
        await agent(desk, "ann")
        await agent(desk, "kim", skills=("key-accounts",), online=False)
        big = InboundMessage("c1@example.com", "a refund please", attributes={"plan": "enterprise"})
        gold = InboundMessage("c2", "a refund please", attributes={"plan": "GOLD"})
        plain = InboundMessage("c3", "a refund please", attributes={"plan": "free"})
        tasks = [(await desk.ingest(ch, m)).task for ch, m in (("mail", big), ("chat", gold))]
        tasks.append((await desk.ingest("chat", plain)).task)
        await settled(desk)
        big_task, gold_task, plain_task = (desk.store.get_task(t.id) for t in tasks)
        # Only kim has the skill and she is away: the key accounts wait for her.
        assert big_task.assignee is None and gold_task.assignee is None
        assert big_task.skills == gold_task.skills == ["key-accounts"]
        assert plain_task.assignee == "ann" and plain_task.skills == []
        explained = await desk.handle(DESK_ACTOR, rq.ExplainRouting(task_id=gold_task.id))
        # normal 1, +2 for a gold customer's refund, +1 for chat
        assert "; chat; priority 4; " in explained[0]
        explained = await desk.handle(DESK_ACTOR, rq.ExplainRouting(task_id=big_task.id))
        assert "; email; priority 1; " in explained[0]
        desk.set_presence("kim", Presence.ONLINE)
        await settled(desk)
        assert desk.store.get_task(gold_task.id).assignee == "kim"
    finally:
        desk.close()


@pytest.mark.parametrize(
    ("rule", "key", "says"),
    [
        ({"skills": ["x"]}, "routing.rules[0]", "needs a condition"),
        ({"when": "refund"}, "routing.rules[0]", "needs `skills`, `priority`"),
        ({"customer": {"plan": 3}, "skills": ["x"]}, "routing.rules[0].customer.plan", "text"),
        ({"customer": {"plan": []}, "skills": ["x"]}, "routing.rules[0].customer.plan", "value"),
        ({"when": "refund", "priority": "high"}, "routing.rules[0].priority", "whole number"),
        ({"when": "refund", "priority": 99}, "routing.rules[0].priority", "from -10 to 10"),
    ],
)
def test_a_malformed_rule_names_its_key(rule, key, says):
    with pytest.raises(ConfigError) as error:
        parse_config({"routing": {"enabled": True, "rules": [rule]}}, source="team.toml")
    assert str(error.value).startswith(f"team.toml: {key}: ")
    assert says in str(error.value)
