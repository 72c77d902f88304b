"""The HubSpot enricher against a local server that follows HubSpot's CRM API.

The fake checks the bearer token and the shape of each call, limits the rate
as HubSpot does, and records every request: the rate tests count what reached
it, not how long things took.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agentdesk_hubspot import ENRICHERS, HubSpotEnricher
from agentdesk_hubspot.failures import retry_after_seconds
from agentdesk_hubspot.throttle import Throttled, TokenBucket
from servers.hubspot_api import PORTAL_ID, TOKEN, FakeHubSpot

from agentdesk.core.host.discovery import discover
from agentdesk.plugin import LookupUnavailable, PluginConfigError
from agentdesk.plugin.enricher_contract import EnricherSubject, run_enricher_contract
from agentdesk.plugin.testing import RecordingContext

EMAIL = "ana.lima@acme.example"
MOBILE = "+33612345678"


def options(hub: FakeHubSpot, **more: Any) -> dict[str, Any]:
    return {
        "token": TOKEN,
        "portal_id": PORTAL_ID,
        "plan_property": "plan_tier",
        "lifetime_value_property": "total_revenue",
        "api_base": hub.url,
        **more,
    }


def enricher(hub: FakeHubSpot, **more: Any) -> HubSpotEnricher:
    ctx = RecordingContext.for_channel(HubSpotEnricher, options(hub, **more), channel_name="crm")
    return HubSpotEnricher(ctx)


def seed(hub: FakeHubSpot) -> str:
    """Ana at Acme: a primary company among two, three deals (two open), an owner."""
    owner = hub.add_owner("Sam", "Rivera", "sam@vendor.example")
    contact = hub.add(
        "contacts",
        email="Ana.Lima@acme.example",
        firstname="Ana",
        lastname="Lima",
        mobilephone=MOBILE,
        phone="+33 1 45 00 00 00",
        hubspot_owner_id=owner,
        total_revenue="48200.5",
    )
    former = hub.add("companies", name="Old Employer SA", plan_tier="Free")
    acme = hub.add("companies", name="Acme Corp", domain="acme.example", plan_tier="Enterprise")
    hub.associate("contacts", contact, "companies", former)
    hub.associate("contacts", contact, "companies", acme, primary=True)
    for name, amount, closed in (
        ("Renewal 2025", "10000", "false"),
        ("Extra seats", "2500", "false"),
        ("Pilot", "900", "true"),
    ):
        deal = hub.add(
            "deals", dealname=name, amount=amount, deal_currency_code="EUR", hs_is_closed=closed
        )
        hub.associate("contacts", contact, "deals", deal)
    return contact


@pytest.fixture
async def hub() -> AsyncIterator[FakeHubSpot]:
    async with FakeHubSpot() as fake:
        yield fake


# -- look-ups --------------------------------------------------------------------------


async def test_an_email_gives_the_contacts_fields_in_the_panes_order(hub: FakeHubSpot) -> None:
    contact = seed(hub)
    fields = await enricher(hub).lookup("email", EMAIL)
    assert fields == {
        "company": "Acme Corp",
        "plan": "Enterprise",
        "lifetime_value": "48,200.50",
        "deals": "2 open, 12,500 EUR: Renewal 2025, Extra seats",
        "owner": "Sam Rivera",
        "link": f"https://app.hubspot.com/contacts/{PORTAL_ID}/contact/{contact}",
    }
    assert list(fields) == ["company", "plan", "lifetime_value", "deals", "owner", "link"]
    search = hub.searches()[0].body
    assert search["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": EMAIL}]}
    ]
    assert "total_revenue" in search["properties"]


async def test_a_phone_is_searched_in_phone_and_mobilephone(hub: FakeHubSpot) -> None:
    seed(hub)
    fields = await enricher(hub).lookup("phone", MOBILE)
    assert fields is not None and fields["company"] == "Acme Corp"
    groups = hub.searches()[0].body["filterGroups"]
    assert [g["filters"][0]["propertyName"] for g in groups] == ["phone", "mobilephone"]


async def test_unknown_identity_is_none_after_one_search(hub: FakeHubSpot) -> None:
    seed(hub)
    assert await enricher(hub).lookup("email", "nobody@else.example") is None
    assert [r.path for r in hub.requests] == ["/crm/v3/objects/contacts/search"]


async def test_other_kinds_and_blank_values_make_no_request(hub: FakeHubSpot) -> None:
    seed(hub)
    crm = enricher(hub)
    assert await crm.lookup("chat", "session-1") is None
    assert await crm.lookup("email", "   ") is None
    assert hub.requests == []


async def test_a_bare_contact_gives_its_link_only(hub: FakeHubSpot) -> None:
    contact = hub.add("contacts", email="solo@example.com")
    assert await enricher(hub).lookup("email", "solo@example.com") == {
        "link": f"https://app.hubspot.com/contacts/{PORTAL_ID}/contact/{contact}"
    }
    no_link = await enricher(hub, portal_id=0, app_base="https://app-eu1.hubspot.com").lookup(
        "email", "solo@example.com"
    )
    assert no_link == {}


async def test_the_first_company_stands_in_for_a_primary_one(hub: FakeHubSpot) -> None:
    contact = hub.add("contacts", email="b@example.com")
    hub.associate("contacts", contact, "companies", hub.add("companies", name="Beta GmbH"))
    hub.associate("contacts", contact, "companies", hub.add("companies", name="Gamma"))
    fields = await enricher(hub, plan_property="").lookup("email", "b@example.com")
    assert fields is not None and fields["company"] == "Beta GmbH" and "plan" not in fields


async def test_closed_deals_only_say_none_open(hub: FakeHubSpot) -> None:
    contact = hub.add("contacts", email="c@example.com")
    for stage in ("closedwon", "closedlost"):
        # Without hs_is_closed, the default pipeline's closing stages tell.
        hub.associate("contacts", contact, "deals", hub.add("deals", dealname="x", dealstage=stage))
    fields = await enricher(hub).lookup("email", "c@example.com")
    assert fields is not None and fields["deals"] == "none open"


async def test_a_company_lifetime_value_and_an_unknown_owner(hub: FakeHubSpot) -> None:
    contact = hub.add("contacts", email="d@example.com", hubspot_owner_id="999999")
    company = hub.add("companies", name="Delta", total_revenue="120000")
    hub.associate("contacts", contact, "companies", company)
    fields = await enricher(hub, lifetime_value_property="company.total_revenue").lookup(
        "email", "d@example.com"
    )
    assert fields is not None
    assert fields["lifetime_value"] == "120,000"
    assert "owner" not in fields  # the owners API answered 404


# -- rate limits -------------------------------------------------------------------------


async def test_a_429_is_waited_out_when_it_fits_in_the_timeout(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.throttle_next("1")
    fields = await enricher(hub, timeout=5).lookup("email", EMAIL)
    assert fields is not None and fields["company"] == "Acme Corp"
    first, second = hub.searches()[:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.95


async def test_a_429_longer_than_the_timeout_is_reported_at_once(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.throttle_next("30")
    began = time.monotonic()
    with pytest.raises(LookupUnavailable, match=r"^rate limited, retry in 30 s$"):
        await enricher(hub, timeout=3).lookup("email", EMAIL)
    assert time.monotonic() - began < 1.0
    assert len(hub.requests) == 1


async def test_a_429_without_retry_after_waits_a_second(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.throttle_next(None)
    assert await enricher(hub, timeout=5).lookup("email", EMAIL) is not None
    first, second = hub.searches()[:2]
    assert second.at - first.at >= 0.95


async def test_the_daily_limit_is_not_waited_for(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.throttle_next("3600", policy="DAILY")
    with pytest.raises(LookupUnavailable, match="daily API limit"):
        await enricher(hub).lookup("email", EMAIL)


async def test_the_bucket_keeps_look_ups_under_the_servers_limit(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.limit, hub.window = 8, 1.0
    crm = enricher(hub, rate=4, timeout=30)
    results = await asyncio.gather(*(crm.lookup("email", EMAIL) for _ in range(5)))
    assert all(r is not None and r["company"] == "Acme Corp" for r in results)
    assert len(hub.requests) == 30  # six calls a look-up
    assert hub.answered(429) == []
    # A bucket of 4 a second lets at most 4 through at once, then 4 a second.
    assert hub.busiest(1.0) <= 8


async def test_without_the_bucket_the_same_load_is_refused(hub: FakeHubSpot) -> None:
    """The counting above can fail: with a rate above the server's, 429s come back."""
    seed(hub)
    hub.limit, hub.window = 8, 1.0
    crm = enricher(hub, rate=100, timeout=30)
    await asyncio.gather(*(crm.lookup("email", EMAIL) for _ in range(5)), return_exceptions=True)
    assert hub.answered(429)


async def test_searches_keep_under_the_search_limit(hub: FakeHubSpot) -> None:
    hub.search_limit = 5
    crm = enricher(hub, rate=10, timeout=30)
    results = await asyncio.gather(
        *(crm.lookup("email", f"nobody{i}@example.com") for i in range(12))
    )
    assert results == [None] * 12
    assert hub.answered(429) == []
    assert len(hub.searches()) == 12


# -- outages -----------------------------------------------------------------------------


async def test_a_slow_server_is_a_timeout_within_the_timeout(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.delay = 5.0
    began = time.monotonic()
    with pytest.raises(LookupUnavailable, match=r"^timeout$"):
        await enricher(hub, timeout=0.5).lookup("email", EMAIL)
    assert time.monotonic() - began < 1.5


async def test_a_server_that_is_down(hub: FakeHubSpot) -> None:
    crm = enricher(hub)
    await hub.stop()
    with pytest.raises(LookupUnavailable, match="HubSpot cannot be reached"):
        await crm.lookup("email", EMAIL)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_name_the_status(hub: FakeHubSpot, status: int) -> None:
    seed(hub)
    hub.fail_next(status)
    with pytest.raises(LookupUnavailable, match=f"^HubSpot answered {status}$"):
        await enricher(hub).lookup("email", EMAIL)


async def test_a_failure_after_the_search_fails_the_look_up(hub: FakeHubSpot) -> None:
    seed(hub)
    hub.fail_path("/batch/read", 503)
    with pytest.raises(LookupUnavailable, match=r"^HubSpot answered 503$"):
        await enricher(hub).lookup("email", EMAIL)
    assert hub.searches()[0].status == 200


async def test_a_refused_token_says_so_without_the_token(
    hub: FakeHubSpot, caplog: pytest.LogCaptureFixture
) -> None:
    seed(hub)
    wrong = "pat-na1-00000000-dead-beef-0000-000000000000"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LookupUnavailable) as raised:
        await enricher(hub, token=wrong).lookup("email", EMAIL)
    assert str(raised.value) == "the token was refused"
    assert wrong not in caplog.text and TOKEN not in caplog.text
    assert hub.answered(401)


async def test_a_missing_scope_leaves_its_field_out_and_warns_once(
    hub: FakeHubSpot, caplog: pytest.LogCaptureFixture
) -> None:
    seed(hub)
    hub.fail_path("/crm/v3/owners/", 403, category="MISSING_SCOPES")
    crm = enricher(hub)
    with caplog.at_level(logging.WARNING):
        first = await crm.lookup("email", EMAIL)
        second = await crm.lookup("email", EMAIL)
    assert first == second
    assert first is not None and "owner" not in first and first["company"] == "Acme Corp"
    assert caplog.text.count("crm.objects.owners.read") == 1


async def test_a_refused_search_is_not_a_missing_field(hub: FakeHubSpot) -> None:
    hub.fail_path("/search", 403, category="MISSING_SCOPES")
    with pytest.raises(LookupUnavailable, match="scopes"):
        await enricher(hub).lookup("email", EMAIL)


# -- hostile answers ----------------------------------------------------------------------


async def test_hostile_and_non_text_values_come_back_as_one_line_strings(
    hub: FakeHubSpot,
) -> None:
    owner = hub.add_owner({"nested": ["x"]}, 42, None)
    contact = hub.add(
        "contacts", email="h@example.com", hubspot_owner_id=owner, total_revenue={"a": 1}
    )
    company = hub.add(
        "companies", name="\x1b]0;pwned\x07Evil\nCorp\r\u202e", plan_tier=3.5, domain=None
    )
    hub.associate("contacts", contact, "companies", company)
    for name, amount in ((["a", "b"], "1e999"), (None, "NaN"), (7, True), ("x" * 5000, None)):
        hub.associate("contacts", contact, "deals", hub.add("deals", dealname=name, amount=amount))
    fields = await enricher(hub).lookup("email", "h@example.com")
    assert fields is not None
    for key, value in fields.items():
        assert isinstance(value, str), key
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in value), (key, value)
        assert len(value) <= 200
    assert fields["company"] == "Evil Corp"
    assert fields["plan"] == "3.5"
    assert fields["lifetime_value"] == '{"a":1}'
    assert fields["owner"] == '{"nested":["x"]} 42'
    assert fields["deals"].startswith("4 open")


async def test_an_answer_that_is_not_json_is_unavailable_not_unknown(hub: FakeHubSpot) -> None:
    hub.fail_path("/search", 200, raw="<html>maintenance</html>")
    with pytest.raises(LookupUnavailable, match="not understood"):
        await enricher(hub).lookup("email", EMAIL)


# -- options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token": None}, "crm.token: required option is missing"),
        ({"token": "  "}, "crm.token: the token is empty"),
        ({"plan_property": "Plan Tier"}, "crm.plan_property: expected a HubSpot property"),
        ({"lifetime_value_property": "company."}, "crm.lifetime_value_property: expected"),
        ({"api_base": "http://api.hubapi.com"}, "crm.api_base: plain http is only allowed"),
        ({"api_base": "ftp://x"}, "crm.api_base: expected an http(s) URL"),
        ({"rate": 0}, "crm.rate: expected a number >= 0.1"),
        ({"timeout": "3"}, "crm.timeout: expected a number"),
        ({"portal_id": "4412987"}, "crm.portal_id: expected a number"),
        ({"colour": "red"}, "crm.colour: unknown option"),
    ],
)
def test_malformed_options_name_the_key(change: dict[str, Any], message: str) -> None:
    raw: dict[str, Any] = {"token": TOKEN, "api_base": "https://api.hubapi.com", **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(PluginConfigError) as raised:
        RecordingContext.for_channel(HubSpotEnricher, raw, channel_name="crm")
    assert str(raised.value).startswith(message)
    assert TOKEN not in str(raised.value)


def test_a_secret_of_the_wrong_type_is_not_shown() -> None:
    with pytest.raises(PluginConfigError) as raised:
        RecordingContext.for_channel(HubSpotEnricher, {"token": 12345678}, channel_name="crm")
    assert "12345678" not in str(raised.value)


# -- pieces ------------------------------------------------------------------------------


def test_the_bucket_hands_out_turns_in_order_at_its_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(2, clock=lambda: now[0])
    assert [bucket.reserve(deadline=200) for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    with pytest.raises(Throttled) as raised:
        bucket.reserve(deadline=101.0)
    assert raised.value.wait == pytest.approx(1.5)
    now[0] += 10  # a pause refills it, up to the burst
    assert [bucket.reserve(deadline=200) for _ in range(3)] == [0.0, 0.0, 0.5]
    bucket.hold(3)
    assert bucket.delay() == pytest.approx(3.0)
    bucket.hold(0.1)  # a shorter hold moves no turn earlier
    assert bucket.delay() == pytest.approx(3.0)


def test_retry_after_takes_seconds_or_a_date() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-4") == 0


def test_the_package_declares_its_enricher_for_plugin_folders() -> None:
    assert [HubSpotEnricher] == ENRICHERS
    catalog = discover(entry_points=None)
    assert catalog.enrichers.get("hubspot") is HubSpotEnricher


# -- the conformance kit -------------------------------------------------------------------


async def test_the_enricher_passes_the_conformance_kit(hub: FakeHubSpot) -> None:
    seed(hub)
    subject = EnricherSubject(
        HubSpotEnricher,
        known=("email", EMAIL),
        unknown=("phone", "+15555550100"),
        options=options(hub, timeout=1),
        lookup_timeout=5,
    )
    report = await run_enricher_contract(subject)
    assert [(r.name, r.outcome, r.detail) for r in report.results if r.outcome != "passed"] == []
    assert len(report.results) == 8
