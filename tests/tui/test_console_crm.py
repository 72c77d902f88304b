"""The customer pane's CRM section against a real desk and a local HubSpot-like
CRM: in the console's process and behind a real hub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from agentdesk_hubspot import HubSpotEnricher
from servers.hubspot_api import PORTAL_ID, TOKEN, FakeHubSpot
from textual.widgets import Static

from agentdesk.core.config import Config
from agentdesk.core.enrichment_config import EnricherConfig, EnrichmentConfig
from agentdesk.core.host.discovery import PluginCatalog
from agentdesk.core.host.enrichment import EnrichmentRuntime
from agentdesk.plugin import InboundMessage

from .conftest import ready, screen_text, seed


@pytest.fixture(params=["local", "hub"])
def console_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def crm() -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot() as fake:
        owner = fake.add_owner("Sam", "Rivera", "sam@vendor.example")
        contact = fake.add("contacts", email="ana@example.com", hubspot_owner_id=owner)
        acme = fake.add("companies", name="Acme Corp", plan_tier="Enterprise")
        fake.associate("contacts", contact, "companies", acme, primary=True)
        fake.contact = contact  # type: ignore[attr-defined]
        yield fake


async def start_runtime(desk, crm: FakeHubSpot, tmp_path: Path, timeout: float = 3.0):
    options = {
        "token": TOKEN,
        "portal_id": PORTAL_ID,
        "plan_property": "plan_tier",
        "api_base": crm.url,
        "timeout": 10,
    }
    config = Config(
        store=tmp_path,
        enrichers=[EnricherConfig("hubspot", "crm", options, 0)],
        enrichment=EnrichmentConfig(timeout=timeout, prefetch=0),
    )
    runtime = EnrichmentRuntime(
        desk,
        config,
        catalog=PluginCatalog(enrichers={"hubspot": HubSpotEnricher}),
        data_root=tmp_path / "enrichers",
    )
    await runtime.start()
    return runtime


def crm_section(app) -> str:
    section = app.main.customer_pane.query_one(".crm", Static)
    return str(section.content) if section.display else ""


async def eventually(pilot, predicate: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the console never reached the expected state")
        await pilot.pause(0.05)


async def test_the_pane_shows_the_crm_fields_and_the_link_whole(
    make_app, console_desk, clock, crm, tmp_path
) -> None:
    await seed(console_desk, clock)  # Ana writes first: hers is selected
    runtime = await start_runtime(console_desk, crm, tmp_path)
    try:
        app = make_app()
        async with app.run_test(size=(160, 48)) as pilot:
            await ready(pilot)
            await pilot.press("enter")
            await eventually(pilot, lambda: "Acme Corp" in crm_section(app))
            text = crm_section(app)
            assert text.startswith("CRM · crm")
            assert "plan: Enterprise" in text and "owner: Sam Rivera" in text
            link = f"https://app.hubspot.com/contacts/{PORTAL_ID}/contact/{crm.contact}"
            assert f"link: {link}" in text
            assert "plan: Enterprise" not in str(
                app.main.customer_pane.query_one(".profile", Static).content
            )  # shown once, in the CRM section
            assert TOKEN not in screen_text(app) and TOKEN not in text
    finally:
        await runtime.stop()


async def test_a_slow_crm_says_unavailable_and_the_console_goes_on(
    make_app, console_desk, clock, crm, tmp_path
) -> None:
    tasks = await seed(console_desk, clock)
    runtime = await start_runtime(console_desk, crm, tmp_path, timeout=1.0)
    crm.delay = 30  # it hangs
    try:
        app = make_app()
        async with app.run_test(size=(160, 48)) as pilot:
            await ready(pilot)
            await pilot.press("enter")
            await eventually(pilot, lambda: "looking up…" in crm_section(app))
            # While the look-up hangs, the inbox moves and news comes in.
            await pilot.press("escape", "j")
            assert app.main.inbox.cursor_id == tasks[1].id
            await pilot.press("k", "enter")
            await console_desk.ingest("mail", InboundMessage("dee@example.net", "still there?"))
            await eventually(pilot, lambda: app.main.index.known() == 4)
            await eventually(pilot, lambda: "CRM unavailable (timeout)" in crm_section(app))
            assert "looking up…" not in crm_section(app)
    finally:
        await runtime.stop()


async def test_no_enricher_no_crm_section(make_app, console_desk, clock) -> None:
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await eventually(pilot, lambda: app.main.customer_pane.customer is not None)
        await asyncio.sleep(0.2)
        await pilot.pause()
        assert crm_section(app) == ""
        assert "CRM" not in screen_text(app)


def test_the_section_says_how_old_and_shows_hostile_values_safely() -> None:
    from agentdesk.api.crm import CrmProfile
    from agentdesk.tui.widgets.customer_pane import crm_text

    now = 1_790_000_000.0
    profile = CrmProfile(
        customer_id="c1",
        enrichers=["crm"],
        fields={"company": "\x1b[2J\x1b]0;pwned\x07Acme\r\nCorp"},
        source=["crm"],
        fetched_at=now - 3 * 86400,
        error="timeout",
        error_at=now,
    )
    text = crm_text(profile, now).plain
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Acme" in text and "Corp" in text
    assert "CRM unavailable (timeout), as of " in text
    assert crm_text(CrmProfile(customer_id="c1"), now).plain == ""
    unknown = CrmProfile(customer_id="c1", enrichers=["crm"], fetched_at=now)
    assert crm_text(unknown, now).plain == "CRM\nnot in the CRM"
