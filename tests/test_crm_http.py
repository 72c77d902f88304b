"""The HTTP JSON enricher against an in-house back office on loopback.

The back office is ours (there is no published API to follow): a Starlette
app that wants a bearer token, finds customers by email, phone or
``/lookup/{kind}/{value}``, and records what reached it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from agentdesk_crm_http import ENRICHERS, HttpJsonEnricher
from agentdesk_crm_http.paths import parse_path
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from agentdesk.core.host.discovery import discover
from agentdesk.plugin import LookupUnavailable, PluginConfigError
from agentdesk.plugin.enricher_contract import EnricherSubject, run_enricher_contract
from agentdesk.plugin.serving import EmbeddedServer
from agentdesk.plugin.testing import RecordingContext

BO_TOKEN = "bo-secret-7f3a9c1e55d2"
EMAIL = "ana@acme.example"
PHONE = "+33612345678"
ANA = {
    "account": {"name": "Acme Corp", "plan": "Enterprise", "seats": 40, "active": True},
    "orders": [{"id": "A-4471", "total": 129.5}, {"id": "A-4470", "total": 80}],
    "url": "https://backoffice.example/customers/812",
    "notes": None,
}
FIELDS = {
    "company": "account.name",
    "plan": "account.plan",
    "last_order": "orders.0.id",
    "orders": "orders#",
    "link": "url",
}


@dataclass
class BackOffice:
    """Customers by email and phone; ``answer`` overrides what the next requests get."""

    server: EmbeddedServer = field(default_factory=EmbeddedServer)
    customers: dict[str, Any] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    answer: Response | None = None
    delay: float = 0.0

    async def find(self, request: Request) -> Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer is not None:
            return self.answer
        if request.headers.get("authorization") != f"Bearer {BO_TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        key = (
            request.path_params.get("value")
            or request.query_params.get("email")
            or request.query_params.get("phone")
            or ""
        )
        found = self.customers.get(key.lower())
        if found is None:
            return JSONResponse({"error": "no such customer"}, status_code=404)
        return JSONResponse(found)

    def url(self, path: str) -> str:
        return f"{self.server.base_url}{path}"


@pytest.fixture
async def office() -> AsyncIterator[BackOffice]:
    bo = BackOffice()
    bo.customers = {EMAIL: ANA, PHONE: ANA}
    bo.server.add_route("/api/customers", bo.find)
    bo.server.add_route("/api/lookup/{kind}/{value:path}", bo.find)
    bo.server.add_route("/elsewhere", bo.find)
    await bo.server.start()
    yield bo
    await bo.server.stop()


def options(office: BackOffice, **more: Any) -> dict[str, Any]:
    return {
        "url": office.url("/api/customers?email={email}"),
        "headers": {"Authorization": f"Bearer {BO_TOKEN}"},
        "fields": FIELDS,
        **more,
    }


def enricher(office: BackOffice, **more: Any) -> HttpJsonEnricher:
    ctx = RecordingContext.for_channel(
        HttpJsonEnricher, options(office, **more), channel_name="backoffice"
    )
    return HttpJsonEnricher(ctx)


# -- look-ups --------------------------------------------------------------------------


async def test_an_email_gives_the_fields_in_the_tables_order(office: BackOffice) -> None:
    fields = await enricher(office).lookup("email", EMAIL)
    assert fields == {
        "company": "Acme Corp",
        "plan": "Enterprise",
        "last_order": "A-4471",
        "orders": "2",
        "link": "https://backoffice.example/customers/812",
    }
    assert list(fields) == list(FIELDS)
    assert office.requests[0].query_params["email"] == EMAIL


async def test_a_kind_the_url_does_not_take_makes_no_request(office: BackOffice) -> None:
    crm = enricher(office)
    assert await crm.lookup("phone", PHONE) is None
    assert await crm.lookup("chat", "session-9") is None
    assert office.requests == []


async def test_a_phone_number_arrives_with_its_plus(office: BackOffice) -> None:
    crm = enricher(office, url=office.url("/api/customers?email={email}&phone={phone}"))
    fields = await crm.lookup("phone", PHONE)
    assert fields is not None and fields["company"] == "Acme Corp"
    query = office.requests[0].query_params
    assert query["phone"] == PHONE and query["email"] == ""
    assert "%2B33612345678" in office.requests[0].url.query


async def test_kind_and_value_in_the_path_are_encoded(office: BackOffice) -> None:
    office.customers["a/b@x.example"] = {"account": {"name": "Slash"}}
    crm = enricher(office, url=office.url("/api/lookup/{kind}/{value}"))
    assert await crm.lookup("email", "a/b@x.example") == {"company": "Slash"}
    assert office.requests[0].scope["raw_path"].endswith(b"/api/lookup/email/a%2Fb%40x.example")


async def test_unknown_is_none(office: BackOffice) -> None:
    assert await enricher(office).lookup("email", "nobody@else.example") is None


async def test_an_answer_none_of_the_paths_reach_is_unknown(office: BackOffice) -> None:
    office.customers["empty@x.example"] = {"results": []}
    assert await enricher(office).lookup("email", "empty@x.example") is None


async def test_non_text_values_come_back_as_one_line_strings(office: BackOffice) -> None:
    office.customers["odd@x.example"] = {
        "account": {"name": "\x1b[2J\x1b]0;pwned\x07Evil\r\nCorp\u202e", "plan": 3, "seats": 2.5},
        "orders": {"not": "a list"},
        "url": None,
        "flags": [True, None, {"deep": [1, 2]}],
        "active": False,
        "huge": 10**40,
    }
    crm = enricher(
        office,
        fields={
            "company": "account.name",
            "plan": "account.plan",
            "seats": "account.seats",
            "orders": "orders#",
            "first_order": "orders.0",
            "link": "url",
            "flags": "flags",
            "active": "active",
            "huge": "huge",
            "account": "account",
        },
    )
    fields = await crm.lookup("email", "odd@x.example")
    assert fields is not None
    for value in fields.values():
        assert isinstance(value, str)
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in value), value
    assert fields["company"] == "Evil Corp"
    assert fields["plan"] == "3" and fields["seats"] == "2.5"
    assert fields["orders"] == "1"  # an object's keys are counted too
    assert fields["flags"] == '[true,null,{"deep":[1,2]}]'
    assert fields["active"] == "false"
    assert "first_order" not in fields and "link" not in fields and "huge" not in fields
    assert fields["account"].startswith('{"name":"')


def test_paths_reach_into_lists_and_count() -> None:
    answer = {"a": [{"b": "x"}, {"b": "y"}], "n": {"0": "zero"}}
    assert parse_path("a.1.b").resolve(answer) == "y"
    assert parse_path("a.9.b").resolve(answer) is None
    assert parse_path("a#").resolve(answer) == 2
    assert parse_path("n.0").resolve(answer) == "zero"
    assert parse_path("a.b").resolve(answer) is None
    assert parse_path("a.0.b#").resolve(answer) is None


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (500, {}, "the back office answered 500"),
        (503, {"Retry-After": "20"}, "the back office answered 503"),
        (401, {}, "the back office refused our credentials (401)"),
        (403, {}, "the back office refused our credentials (403)"),
        (429, {"Retry-After": "12"}, "rate limited, retry in 12 s"),
        (429, {}, "rate limited"),
        (400, {}, "the back office answered 400"),
    ],
)
async def test_refusals_are_unavailable_in_a_few_words(
    office: BackOffice, status: int, headers: dict[str, str], message: str
) -> None:
    office.answer = JSONResponse({"error": "x"}, status_code=status, headers=headers)
    with pytest.raises(LookupUnavailable) as raised:
        await enricher(office).lookup("email", EMAIL)
    assert str(raised.value) == message


async def test_a_wrong_token_is_refused_and_never_shown(
    office: BackOffice, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "bo-wrong-0000000000"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LookupUnavailable) as raised:
        await enricher(office, headers={"Authorization": f"Bearer {wrong}"}).lookup("email", EMAIL)
    assert "credentials" in str(raised.value) and wrong not in str(raised.value)
    assert wrong not in caplog.text and BO_TOKEN not in caplog.text


async def test_a_slow_back_office_is_a_timeout_within_the_timeout(office: BackOffice) -> None:
    office.delay = 5
    began = time.monotonic()
    with pytest.raises(LookupUnavailable, match=r"^timeout$"):
        await enricher(office, timeout=0.5).lookup("email", EMAIL)
    assert time.monotonic() - began < 1.5


async def test_a_back_office_that_is_down(office: BackOffice) -> None:
    crm = enricher(office)
    await office.server.stop()
    with pytest.raises(LookupUnavailable, match="cannot be reached"):
        await crm.lookup("email", EMAIL)


async def test_an_answer_that_is_not_json(office: BackOffice) -> None:
    office.answer = PlainTextResponse("<html>maintenance</html>")
    with pytest.raises(LookupUnavailable, match="not JSON"):
        await enricher(office).lookup("email", EMAIL)


async def test_an_answer_too_large_is_not_read(office: BackOffice) -> None:
    office.answer = PlainTextResponse('{"a": "' + "x" * (2 * 1024 * 1024) + '"}')
    with pytest.raises(LookupUnavailable, match="too large"):
        await enricher(office).lookup("email", EMAIL)


async def test_a_redirect_is_not_followed_with_the_headers(office: BackOffice) -> None:
    office.answer = RedirectResponse(office.url("/elsewhere"), status_code=302)
    with pytest.raises(LookupUnavailable, match="answered 302"):
        await enricher(office).lookup("email", EMAIL)
    assert [r.url.path for r in office.requests] == ["/api/customers"]


# -- options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": None}, "backoffice.url: required option is missing"),
        ({"url": "https://crm.example/c?q={name}"}, "backoffice.url: unknown placeholder {name}"),
        ({"url": "https://crm.example/customers"}, "backoffice.url: the URL takes no placeholder"),
        ({"url": "http://crm.example/c?e={email}"}, "backoffice.url: plain http is only allowed"),
        ({"url": "https://{value}.example/"}, "backoffice.url: a placeholder may be in the path"),
        ({"url": "https://crm.example/c?e={email"}, "backoffice.url: a brace that opens"),
        ({"fields": None}, "backoffice.fields: required option is missing"),
        ({"fields": ["account.name"]}, "backoffice.fields: expected a table"),
        ({"fields": {}}, "fields: name at least one field"),
        ({"fields": {"plan": "account..plan"}}, "fields.plan: expected a dotted path"),
        ({"fields": {"plan": "#"}}, "fields.plan: expected a dotted path"),
        ({"fields": {"plan": 3}}, "fields.plan: expected a dotted path as text, got int"),
        ({"fields": {"Plan": "account.plan"}}, "fields.Plan: a field name is lower-case"),
        ({"fields": {"my plan": "account.plan"}}, "fields.my plan: a field name"),
        ({"headers": {"Authorization": 12345}}, "headers.Authorization: expected text"),
        ({"headers": {"Bad Name": "x"}}, "headers.Bad Name: not a valid HTTP header name"),
        ({"headers": {"X-Key": "a\r\nInjected: 1"}}, "headers.X-Key: the value holds a line"),
        ({"timeout": 0}, "backoffice.timeout: expected a number >= 0.1"),
    ],
)
def test_malformed_options_name_the_key(change: dict[str, Any], message: str) -> None:
    raw: dict[str, Any] = {
        "url": "https://crm.example/api/customers?email={email}",
        "fields": {"company": "account.name"},
        **change,
    }
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(PluginConfigError) as raised:
        HttpJsonEnricher(
            RecordingContext.for_channel(HttpJsonEnricher, raw, channel_name="backoffice")
        )
    assert str(raised.value).startswith(message)
    assert "12345" not in str(raised.value) and "Injected" not in str(raised.value)


def test_the_package_declares_its_enricher_for_plugin_folders() -> None:
    assert [HttpJsonEnricher] == ENRICHERS
    assert discover(entry_points=None).enrichers.get("http-json") is HttpJsonEnricher


# -- the conformance kit -------------------------------------------------------------------


async def test_the_enricher_passes_the_conformance_kit(office: BackOffice) -> None:
    subject = EnricherSubject(
        HttpJsonEnricher,
        known=("email", EMAIL),
        unknown=("email", "nobody@else.example"),
        options=options(office, timeout=1),
        secrets=(BO_TOKEN,),
        lookup_timeout=5,
    )
    report = await run_enricher_contract(subject)
    assert [(r.name, r.outcome, r.detail) for r in report.results if r.outcome != "passed"] == []
