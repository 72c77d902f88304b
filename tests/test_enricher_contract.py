"""The enricher conformance kit: the example of docs/enrichers.md passes it,
loaded from a plugin folder, and enrichers that break the contract each fail
the check that covers what they break. The guide's configuration examples
are accepted by the plugins they name."""

from __future__ import annotations

import asyncio
import re
import time
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentdesk_crm_http import HttpJsonEnricher
from agentdesk_hubspot import HubSpotEnricher
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentdesk.core.host.discovery import discover
from agentdesk.plugin import Enricher, LookupUnavailable, Option, PluginConfigError
from agentdesk.plugin.enricher_contract import (
    ENRICHER_CHECKS,
    EnricherSubject,
    run_enricher_contract,
)
from agentdesk.plugin.serving import EmbeddedServer
from agentdesk.plugin.testing import EnricherContract, RecordingContext

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "enrichers.md"
API_KEY = "shop-key-51f0c2aa"
KNOWN = ("email", "ana@example.com")
UNKNOWN = ("email", "nobody@example.com")


def example_code() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: shop_enricher -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/enrichers.md lost its example"
    return match.group(1)


@dataclass
class Shop:
    """The shop's customer API of the guide's example, on loopback."""

    server: EmbeddedServer = field(default_factory=EmbeddedServer)
    customers: dict[str, Any] = field(default_factory=dict)

    async def customer(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"error": "bad key"}, status_code=401)
        found = self.customers.get(request.query_params.get("email", ""))
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(found)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/api"


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    fake = Shop(customers={KNOWN[1]: {"tier": "gold", "orders": [{"id": 1}, {"id": 2}]}})
    fake.server.add_route("/api/customers", fake.customer)
    await fake.server.start()
    yield fake
    await fake.server.stop()


def subject(cls: type[Enricher], shop: Shop, **more: Any) -> EnricherSubject:
    return EnricherSubject(
        cls,
        known=KNOWN,
        unknown=UNKNOWN,
        options={"api_url": shop.url, "api_key": API_KEY, "timeout": 0.5},
        lookup_timeout=3,
        **more,
    )


def outcomes(report: Any) -> dict[str, str]:
    return {result.name: result.outcome for result in report.results}


# -- the guide's example ------------------------------------------------------------------


def test_the_example_is_short() -> None:
    assert len(example_code().splitlines()) <= 40


async def test_the_guides_example_passes_from_a_plugin_folder(shop: Shop, tmp_path: Path) -> None:
    (tmp_path / "shop_enricher.py").write_text(example_code(), encoding="utf-8")
    catalog = discover([tmp_path], entry_points=None, default_paths=False)
    shop_class = catalog.enrichers["shop"]
    ctx = RecordingContext.for_channel(shop_class, {"api_url": shop.url, "api_key": API_KEY})
    assert await shop_class(ctx).lookup(*KNOWN) == {"plan": "gold", "orders": "2"}
    report = await run_enricher_contract(subject(shop_class, shop))
    assert [(r.name, r.detail) for r in report.results if r.outcome != "passed"] == []
    assert report.passed and len(report.results) == len(ENRICHER_CHECKS)


# -- enrichers that break the contract -------------------------------------------------------


class ShopBase(Enricher):
    """Reads the shop's API; the subclasses below each break one rule."""

    plugin = "shop-broken"
    options = (
        Option.text("api_url"),
        Option.secret("api_key"),
        Option.number("timeout", default=3),
    )

    def client(self, **kw: Any) -> httpx.AsyncClient:
        kw.setdefault("timeout", self.context.options["timeout"])
        return self.context.http_client(
            headers={"X-Api-Key": self.context.options["api_key"]}, **kw
        )

    async def fetch(self, value: str) -> httpx.Response:
        async with self.client() as client:
            return await client.get(
                f"{self.context.options['api_url']}/customers", params={"email": value}
            )

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        if identity_kind != "email":
            return None
        try:
            answer = await self.fetch(value)
        except httpx.HTTPError:
            raise LookupUnavailable("the shop cannot be reached") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise LookupUnavailable(f"the shop answered {answer.status_code}")
        return {"plan": str(answer.json()["tier"])}


class RawErrors(ShopBase):
    """Lets the network's exceptions out, and takes a 503 for an unknown customer."""

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        answer = await self.fetch(value)
        if answer.status_code != 200:
            return None
        return {"plan": str(answer.json()["tier"])}


class BadFields(ShopBase):
    """Capitalised names, numbers, control characters, an empty dict, a crash on
    a kind it does not know."""

    async def lookup(self, identity_kind: str, value: str) -> Any:
        if identity_kind == "email" and value == UNKNOWN[1]:
            return {}
        if identity_kind == "email":
            await super().lookup(identity_kind, value)
            return {"Plan": "gold", "orders": 2, "note": "\x1b[31mred"}
        raise KeyError(identity_kind)


class LeaksTheKey(ShopBase):
    """Logs its key, and puts it in its error messages."""

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        self.context.logger.debug("asking the shop with key %s", self.context.options["api_key"])
        try:
            return await super().lookup(identity_kind, value)
        except LookupUnavailable:
            raise LookupUnavailable(f"shop down (key {self.context.options['api_key']})") from None


class WaitsForever(ShopBase):
    """No timeout of its own: a silent server keeps it waiting."""

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return super().client(timeout=None)


class Blocks(ShopBase):
    """Sleeps on the event loop."""

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        time.sleep(0.3)
        return await super().lookup(identity_kind, value)


class Nameless(ShopBase):
    plugin = ""


class SyncLookup(Enricher):
    plugin = "sync"

    def lookup(self, identity_kind: str, value: str) -> Any:  # type: ignore[override]
        return None


class OffTheNetwork(Enricher):
    """Knows its customers without any request: the outage checks cannot apply."""

    plugin = "memory"

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        await asyncio.sleep(0)
        return {"plan": "gold"} if (identity_kind, value) == KNOWN else None


@pytest.mark.parametrize(
    ("cls", "failed"),
    [
        (RawErrors, {"unreachable", "silent", "server_error"}),
        (BadFields, {"known", "unknown", "foreign_kind"}),
        # It logs the key in every look-up: every check that looks up fails.
        (LeaksTheKey, {check.name for check in ENRICHER_CHECKS[1:]}),
        (WaitsForever, {"silent"}),
        (Blocks, {"no_blocking"}),
    ],
)
async def test_each_breach_fails_its_check(
    shop: Shop, cls: type[Enricher], failed: set[str]
) -> None:
    report = await run_enricher_contract(subject(cls, shop))
    assert not report.passed
    assert {name for name, outcome in outcomes(report).items() if outcome == "failed"} == failed


async def test_the_failures_say_what_is_wrong(shop: Shop) -> None:
    details = {
        r.name: r.detail for r in (await run_enricher_contract(subject(BadFields, shop))).results
    }
    assert "field name 'Plan' is not lower case" in details["known"]
    assert "gave {}, not None" in details["unknown"]
    assert "KeyError" in details["foreign_kind"]
    raw = {
        r.name: r.detail for r in (await run_enricher_contract(subject(RawErrors, shop))).results
    }
    assert "raised ConnectError, not LookupUnavailable" in raw["unreachable"]
    assert "returned NoneType instead of raising LookupUnavailable" in raw["server_error"]
    leak = {
        r.name: r.detail for r in (await run_enricher_contract(subject(LeaksTheKey, shop))).results
    }
    assert "a secret (sh…) was logged" in leak["known"]
    assert "the message holds a secret" in leak["unreachable"]
    assert API_KEY not in " ".join(leak.values())


async def test_a_broken_declaration_skips_the_rest(shop: Shop) -> None:
    for cls in (Nameless, SyncLookup):
        report = await run_enricher_contract(subject(cls, shop))
        found = outcomes(report)
        assert found.pop("declaration") == "failed"
        assert set(found.values()) == {"skipped"}


async def test_options_the_enricher_refuses_fail_the_declaration(shop: Shop) -> None:
    broken = subject(ShopBase, shop)
    broken.options = {"api_url": shop.url}
    report = await run_enricher_contract(broken)
    assert outcomes(report)["declaration"] == "failed"
    assert "api_key: required option is missing" in report.failures[0].detail


async def test_outage_checks_are_skipped_without_requests_to_cut() -> None:
    report = await run_enricher_contract(EnricherSubject(OffTheNetwork, KNOWN, UNKNOWN))
    found = outcomes(report)
    assert {found[name] for name in ("unreachable", "silent", "server_error")} == {"skipped"}
    assert report.passed


async def test_an_outage_hook_breaks_the_crm_its_own_way(shop: Shop) -> None:
    async def outage(enricher: Enricher, ctx: RecordingContext) -> None:
        await shop.server.stop()

    report = await run_enricher_contract(
        subject(ShopBase, shop, outage=outage), only=["unreachable"]
    )
    assert outcomes(report) == {"declaration": "passed", "unreachable": "passed"}


# -- the guide's configuration ---------------------------------------------------------------


def test_the_guides_config_tables_are_accepted() -> None:
    plugins = {"hubspot": HubSpotEnricher, "http-json": HttpJsonEnricher}
    text = GUIDE.read_text(encoding="utf-8")
    tables = [
        table
        for block in re.findall(r"```toml\n(.*?)```", text, re.S)
        for table in tomllib.loads(block).get("enrichers", [])
    ]
    assert {table["plugin"] for table in tables} == set(plugins)
    for table in tables:
        raw = dict(table)
        cls, name = plugins[raw.pop("plugin")], raw.pop("name")
        # As the config reader does: ${NAME} read from the environment.
        raw = {
            key: (
                re.sub(r"\$\{\w+\}", "from-env", value)
                if isinstance(value, str)
                else {k: re.sub(r"\$\{\w+\}", "from-env", v) for k, v in value.items()}
                if isinstance(value, dict)
                else value
            )
            for key, value in raw.items()
        }
        try:
            cls(RecordingContext.for_channel(cls, raw, channel_name=name))
        except PluginConfigError as exc:
            pytest.fail(f"docs/enrichers.md: {exc}")


class TestTheKitAsABaseClass(EnricherContract):
    """The pytest form of the kit, as a plugin author's test module uses it."""

    enricher_class = HttpJsonEnricher
    known = KNOWN
    unknown = UNKNOWN
    secrets = (API_KEY,)
    lookup_timeout = 3

    @pytest.fixture(autouse=True)
    def _point_at_the_shop(self, shop: Shop) -> None:
        self.options = {
            "url": shop.url + "/customers?email={email}",
            "headers": {"x-api-key": API_KEY},
            "fields": {"plan": "tier", "orders": "orders#"},
            "timeout": 0.5,
        }
