"""CRM enrichment in the desk: look-ups in the background, the cache in the
store, the profile read — embedded and through a hub — against a local
server that follows HubSpot's CRM API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agentdesk_hubspot import HubSpotEnricher
from contract.conftest import HubHarness, LocalHarness
from servers.hubspot_api import PORTAL_ID, TOKEN, FakeHubSpot

from agentdesk.api import requests as rq
from agentdesk.core.config import Config
from agentdesk.core.desk.crm import CRM_NAMESPACE
from agentdesk.core.enrichment_config import EnricherConfig, EnrichmentConfig
from agentdesk.core.host.discovery import PluginCatalog
from agentdesk.core.host.enrichment import EnrichmentRuntime
from agentdesk.plugin import InboundMessage

EMAIL = "ana.lima@acme.example"
DAY = 86400.0


def seed(hub: FakeHubSpot, **company: Any) -> str:
    owner = hub.add_owner("Sam", "Rivera", "sam@vendor.example")
    contact = hub.add(
        "contacts", email=EMAIL, firstname="Ana", lastname="Lima", hubspot_owner_id=owner
    )
    acme = hub.add("companies", **{"name": "Acme Corp", "plan_tier": "Enterprise", **company})
    hub.associate("contacts", contact, "companies", acme, primary=True)
    return contact


def runtime_for(
    desk: Any, hub: FakeHubSpot, tmp_path: Path, *, enrichers: list | None = None, **settings: Any
) -> EnrichmentRuntime:
    tables = enrichers or [
        EnricherConfig(
            "hubspot",
            "crm",
            {
                "token": TOKEN,
                "portal_id": PORTAL_ID,
                "plan_property": "plan_tier",
                "api_base": hub.url,
                "timeout": 10,
            },
            0,
        )
    ]
    config = Config(
        source="config.toml",
        store=tmp_path,
        enrichers=tables,
        enrichment=EnrichmentConfig(**{"timeout": 3.0, **settings}),
    )
    catalog = PluginCatalog(enrichers={"hubspot": HubSpotEnricher})
    return EnrichmentRuntime(desk, config, catalog=catalog, data_root=tmp_path / "enrichers")


@pytest.fixture
async def hub() -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot() as fake:
        yield fake


@pytest.fixture(params=["local", "hub"])
async def harness(request: pytest.FixtureRequest, clock: Any) -> AsyncIterator[LocalHarness]:
    made = HubHarness(clock) if request.param == "hub" else LocalHarness(clock)
    await made.start()
    yield made
    await made.close()


async def opened(runtime: EnrichmentRuntime, client: Any, task: Any) -> Any:
    """The agent opens the task; the profile once the look-up is over."""
    await client.request(rq.Focus(task_id=task.id))
    await runtime.settle()
    return await client.crm_profile(task.customer_id)


async def test_opening_a_task_looks_the_customer_up_and_keeps_the_fields(
    harness, hub, tmp_path, clock
) -> None:
    contact = seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "Where is my invoice?")
        before = await client.crm_profile(task.customer_id)
        assert before.enrichers == ["crm"] and before.fields == {} and before.fetched_at is None
        profile = await opened(runtime, client, task)
        assert profile.fields == {
            "company": "Acme Corp",
            "plan": "Enterprise",
            "owner": "Sam Rivera",
            "link": f"https://app.hubspot.com/contacts/{PORTAL_ID}/contact/{contact}",
        }
        assert profile.source == ["crm"] and profile.fetched_at == clock.now
        assert profile.error == "" and not profile.running
        # The fields are the customer's: what routing rules and filters read.
        customer = await client.customer(task.customer_id)
        assert customer.attributes["plan"] == "Enterprise"
        assert customer.attributes["company"] == "Acme Corp"
        # Kept in the store: a desk opened on it later shows them at once.
        record = harness.desk.store.get_state(CRM_NAMESPACE, task.customer_id)
        assert record["sources"]["crm"]["fields"]["plan"] == "Enterprise"
    finally:
        await runtime.stop()


async def test_asking_for_a_stale_profile_starts_a_look_up(harness, hub, tmp_path) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        assert (await client.crm_profile(task.customer_id)).running  # before any focus
        await runtime.settle()
        profile = await client.crm_profile(task.customer_id)
        assert profile.fields["company"] == "Acme Corp" and not profile.running
        assert len(hub.searches()) == 1  # fresh now: reading it asks nothing more
    finally:
        await runtime.stop()


async def test_no_enricher_configured_means_an_empty_profile(harness) -> None:
    client = await harness.client("ana")
    task = await harness.write_in(EMAIL, "hello")
    await client.request(rq.Focus(task_id=task.id))
    profile = await client.crm_profile(task.customer_id)
    assert not profile.configured and profile.fields == {} and not profile.running


async def test_a_fresh_cache_spares_the_crm_and_a_stale_one_is_refreshed(
    harness, hub, tmp_path, clock
) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path, ttl=DAY)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        await opened(runtime, client, task)
        assert len(hub.searches()) == 1
        clock.advance(DAY - 60)
        await opened(runtime, client, task)
        assert len(hub.searches()) == 1  # fresh: not asked again
        company = next(iter(hub.records["companies"].values()))
        company["properties"]["plan_tier"] = "Pro"
        clock.advance(120)
        profile = await opened(runtime, client, task)
        assert len(hub.searches()) == 2
        assert profile.fields["plan"] == "Pro" and profile.fetched_at == clock.now
    finally:
        await runtime.stop()


async def test_one_look_up_per_customer_at_a_time(harness, hub, tmp_path) -> None:
    seed(hub)
    hub.delay = 0.3
    runtime = runtime_for(harness.desk, hub, tmp_path)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        for _ in range(5):
            await client.request(rq.Focus(task_id=task.id))
        assert (await client.crm_profile(task.customer_id)).running
        await runtime.settle()
        assert len(hub.searches()) == 1
    finally:
        await runtime.stop()


async def test_a_slow_crm_times_out_while_the_desk_stays_responsive(harness, hub, tmp_path) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path, timeout=0.5)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        hub.delay = 30  # the CRM hangs
        started = time.monotonic()
        await client.request(rq.Focus(task_id=task.id))
        assert time.monotonic() - started < 0.3  # opening never waits for the CRM
        # While the look-up hangs, customers still write in and agents read.
        other = await harness.write_in("bo@example.org", "a second customer")
        snapshot = await client.snapshot()
        assert other.id in {t.id for t in snapshot.tasks}
        assert (await client.crm_profile(task.customer_id)).running
        assert time.monotonic() - started < 0.4
        await runtime.settle()
        profile = await client.crm_profile(task.customer_id)
        assert profile.error == "timeout" and not profile.running and profile.fields == {}
    finally:
        await runtime.stop()


async def test_a_crm_down_keeps_the_fields_and_is_asked_again_once_back(
    harness, hub, tmp_path, clock
) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path, ttl=600)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        await opened(runtime, client, task)
        clock.advance(601)
        hub.fail_path("/search", 503)
        down = await opened(runtime, client, task)
        assert down.error == "HubSpot answered 503" and down.error_at == clock.now
        assert down.fields["plan"] == "Enterprise"  # as of before
        assert down.fetched_at == clock.now - 601
        # Not asked again at every opening while it is down...
        asked = len(hub.searches())
        await opened(runtime, client, task)
        assert len(hub.searches()) == asked
        # ...but a minute later, and then it answers again.
        hub._broken.clear()
        clock.advance(61)
        back = await opened(runtime, client, task)
        assert back.error == "" and back.fetched_at == clock.now
        assert back.fields["plan"] == "Enterprise"
    finally:
        await runtime.stop()


async def test_a_contact_gone_from_the_crm_takes_its_fields_away(
    harness, hub, tmp_path, clock
) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path, ttl=600)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello", attributes={"locale": "pt-BR"})
        await opened(runtime, client, task)
        hub.records["contacts"].clear()
        clock.advance(601)
        profile = await opened(runtime, client, task)
        assert profile.fields == {} and profile.source == [] and profile.fetched_at == clock.now
        customer = await client.customer(task.customer_id)
        assert customer.attributes == {"locale": "pt-BR"}  # the channel's own stays
    finally:
        await runtime.stop()


async def test_identities_are_asked_in_turn_email_first(harness, hub, tmp_path) -> None:
    hub.add("contacts", email="cy@example.com", phone="+34600111222")
    runtime = runtime_for(harness.desk, hub, tmp_path)
    await runtime.start()
    try:
        client = await harness.client("ana")
        result = await harness.desk.ingest(
            "sms",
            InboundMessage(
                "+34600111222", "hi", other_identities=(("email", "nobody@example.com"),)
            ),
        )
        profile = await opened(runtime, client, result.task)
        assert "link" in profile.fields
        asked = [s.body["filterGroups"][0]["filters"][0]["propertyName"] for s in hub.searches()]
        assert asked == ["email", "phone"]
    finally:
        await runtime.stop()


async def test_prefetch_looks_up_the_top_of_the_queue(harness, hub, tmp_path, clock) -> None:
    for n in range(3):
        hub.add("contacts", email=f"c{n}@example.com")
    runtime = runtime_for(harness.desk, hub, tmp_path, prefetch=2)
    tasks = []
    for n in range(3):
        tasks.append(await harness.write_in(f"c{n}@example.com", "waiting"))
        clock.advance(60)
    client = await harness.client("ana")
    await client.set_priority(tasks[2].id, "urgent")
    await runtime.start()  # a first pass runs at start
    try:
        await asyncio.sleep(0.05)
        await runtime.settle()
        # Read in the store: asking for a profile would look its customer up.
        store = harness.desk.store
        looked = {t.customer_id for t in tasks if store.get_state(CRM_NAMESPACE, t.customer_id)}
        # The urgent one first, then the longest waiting.
        assert looked == {tasks[2].customer_id, tasks[0].customer_id}
        # A new task at the top is looked up when the queue changes.
        newcomer = await harness.write_in("c9@example.com", "me too")
        await client.set_priority(newcomer.id, "urgent")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if runtime.running(newcomer.customer_id) or hub.searches()[2:]:
                break
        await runtime.settle()
        assert len(hub.searches()) == 3
    finally:
        await runtime.stop()


async def test_a_broken_enricher_is_reported_and_skipped(harness, hub, tmp_path, caplog) -> None:
    seed(hub)
    good = EnricherConfig("hubspot", "crm", {"token": TOKEN, "api_base": hub.url}, 2)
    tables = [
        EnricherConfig("salesforce", "sf", {}, 0),
        EnricherConfig("hubspot", "bad", {"token": TOKEN, "plan_property": "Plan Tier"}, 1),
        good,
    ]
    runtime = runtime_for(harness.desk, hub, tmp_path, enrichers=tables)
    with caplog.at_level(logging.ERROR, "agentdesk.enrichment"):
        await runtime.start()
    try:
        assert runtime.enrichers == ("crm",)
        assert runtime.problems[0].startswith("config.toml: enrichers[0].plugin: unknown plugin")
        assert "installed enricher plugins: hubspot" in runtime.problems[0]
        assert runtime.problems[1].startswith("config.toml: enrichers[1].plan_property:")
        assert runtime.problems == [r.getMessage() for r in caplog.records]
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        assert (await opened(runtime, client, task)).fields["company"] == "Acme Corp"
    finally:
        await runtime.stop()


async def test_hostile_values_are_cleaned_and_bounded(harness, hub, tmp_path) -> None:
    seed(hub, name="\x1b[31mAcme\x07 Corp\u202e\nNext line" + "x" * 1000)
    runtime = runtime_for(harness.desk, hub, tmp_path)
    await runtime.start()
    try:
        client = await harness.client("ana")
        task = await harness.write_in(EMAIL, "hello")
        company = (await opened(runtime, client, task)).fields["company"]
        assert "\x1b" not in company and "\x07" not in company and "\n" not in company
        assert "\u202e" not in company
        assert company.startswith("[31mAcme Corp") or company.startswith("Acme Corp")
        assert len(company) <= 300
    finally:
        await runtime.stop()


async def test_the_token_is_never_logged_nor_shown(harness, hub, tmp_path, caplog) -> None:
    seed(hub)
    runtime = runtime_for(harness.desk, hub, tmp_path, timeout=0.5)
    with caplog.at_level(logging.DEBUG):
        await runtime.start()
        try:
            client = await harness.client("ana")
            task = await harness.write_in(EMAIL, "hello")
            shown = [await opened(runtime, client, task)]
            hub.fail_next(401, times=5)
            harness.clock.advance(2 * DAY)
            shown.append(await opened(runtime, client, task))
            hub.delay = 5
            harness.clock.advance(2 * DAY)
            shown.append(await opened(runtime, client, task))
        finally:
            await runtime.stop()
    assert shown[1].error == "the token was refused" and shown[2].error == "timeout"
    assert caplog.records  # something was logged, and none of it holds the token
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.args or "")
    assert all(TOKEN not in repr(profile) for profile in shown)


async def test_a_routing_rule_on_a_crm_field_applies_once_the_crm_said_so(
    hub, tmp_path, clock
) -> None:
    from agentdesk.api import ChannelStatus
    from agentdesk.core.config import parse_config
    from agentdesk.core.desk import Desk
    from agentdesk.core.desk.desk import DESK_ACTOR
    from agentdesk.core.desk.routing_pass import RoutingPass
    from agentdesk.plugin import Capabilities, HealthState
    from agentdesk.store.memory import MemoryStore

    routing = parse_config(
        {
            "routing": {
                "enabled": True,
                "rules": [{"customer": {"plan": "enterprise"}, "priority": 5}],
            }
        },
        env={},
    ).routing
    desk = Desk(MemoryStore(), clock=clock, routing=RoutingPass(routing))
    caps = Capabilities(kind="email", identity_kind="email", threading=True)
    desk.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
    seed(hub)
    runtime = runtime_for(desk, hub, tmp_path, prefetch=0)
    await runtime.start()
    try:
        plain = await desk.ingest("mail", InboundMessage("bo@example.org", "first in"))
        clock.advance(300)
        key = await desk.ingest("mail", InboundMessage(EMAIL, "second, but enterprise"))
        # Routing has read both tasks already: the same priority, the oldest first.
        for task in (plain.task, key.task):
            await desk.handle(DESK_ACTOR, rq.ExplainRouting(task_id=task.id))
        await desk.handle(DESK_ACTOR, rq.Focus(task_id=key.task.id))
        await runtime.settle()
        customer = desk.store.get_customer(key.task.customer_id)
        assert customer.attributes["plan"] == "Enterprise"
        taken = await desk.handle(DESK_ACTOR, rq.TakeNext())
        assert taken.id == key.task.id  # five points up the queue, past the older one
    finally:
        await runtime.stop()
        desk.close()
