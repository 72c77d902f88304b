"""The enricher's options, and the checked settings built from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentdesk.plugin import Option, is_loopback

DEFAULT_API = "https://api.hubapi.com"
DEFAULT_APP = "https://app.hubspot.com"
#: A private app may make 100 requests in any 10 seconds (190 on Professional
#: and Enterprise accounts). A bucket lets ``rate`` requests through at once
#: after a pause, then ``rate`` a second: 9 + 10 x 9 = 99 in any 10 seconds.
DEFAULT_RATE = 9
#: HubSpot's search endpoints take 5 requests a second per token, apart from
#: the general limit: 4 a second, evenly spaced, is at most 5 in any second.
SEARCH_RATE = 4.0

# Internal property names: lower-case letters, digits and underscores.
_PROPERTY = re.compile(r"[a-z0-9_]{1,100}")
COMPANY_PREFIX = "company."


def _url_problem(example: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            return f"expected an http(s) URL like {example}, got {value!r}"
        if parts.query or parts.fragment:
            return f"expected a URL without query or fragment, got {value!r}"
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            # The token rides in every request: never in clear across a network.
            return "plain http is only allowed to a loopback test server; use https"
        return None

    return check


def _property_problem(*, company_prefix: bool) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        name = value.strip()
        if company_prefix and name.startswith(COMPANY_PREFIX):
            name = name[len(COMPANY_PREFIX) :]
        if name == "" and value.strip() == "":
            return None
        if _PROPERTY.fullmatch(name) is None:
            where = " (or company.<name> for a company property)" if company_prefix else ""
            return (
                "expected a HubSpot property's internal name, lower case with underscores"
                f"{where}, got {value!r}"
            )
        return None

    return check


OPTIONS: tuple[Option, ...] = (
    Option.secret(
        "token",
        help="the private app's access token (scopes: crm.objects.contacts.read, "
        "crm.objects.companies.read, crm.objects.deals.read, crm.objects.owners.read); "
        "write ${HUBSPOT_TOKEN}",
        validator=lambda value: None if value.strip() else "the token is empty",
    ),
    Option.number(
        "portal_id",
        default=0,
        minimum=0,
        integer=True,
        help="the HubSpot account's id (Hub ID), for the link to the contact; 0: no link",
    ),
    Option.text(
        "plan_property",
        default="",
        help="the company property that holds the customer's plan or tier; empty: no plan",
        validator=_property_problem(company_prefix=False),
    ),
    Option.text(
        "lifetime_value_property",
        default="",
        help="the contact property that holds the lifetime value (company.<name> for a "
        "company property); empty: none shown",
        validator=_property_problem(company_prefix=True),
    ),
    Option.number(
        "timeout",
        default=3,
        minimum=0.1,
        maximum=30,
        help="seconds a whole look-up may take, waits for the rate limit included",
    ),
    Option.number(
        "rate",
        default=DEFAULT_RATE,
        minimum=0.1,
        maximum=100,
        help="requests a second at most, and at once after a pause (HubSpot allows a private "
        "app 100 in any 10 seconds, or 190 on Professional and Enterprise: 17 fits those)",
    ),
    Option.text(
        "api_base",
        default=DEFAULT_API,
        help="HubSpot's API; change it only to point at a test server",
        validator=_url_problem(DEFAULT_API),
    ),
    Option.text(
        "app_base",
        default=DEFAULT_APP,
        help="HubSpot's web app, for the link (https://app-eu1.hubspot.com for EU accounts)",
        validator=_url_problem(DEFAULT_APP),
    ),
)


@dataclass(frozen=True, slots=True)
class HubSpotSettings:
    token: str
    portal_id: int
    #: Company property names; empty when not configured.
    plan_property: str
    #: Where the lifetime value is: ("contact" or "company", property), or None.
    lifetime_value: tuple[str, str] | None
    timeout: float
    rate: float
    api_base: str
    app_base: str

    def link(self, contact_id: str) -> str | None:
        if self.portal_id <= 0:
            return None
        return f"{self.app_base}/contacts/{self.portal_id}/contact/{contact_id}"


def build_settings(options: dict[str, Any]) -> HubSpotSettings:
    lifetime = str(options["lifetime_value_property"]).strip()
    where: tuple[str, str] | None = None
    if lifetime.startswith(COMPANY_PREFIX):
        where = ("company", lifetime[len(COMPANY_PREFIX) :])
    elif lifetime:
        where = ("contact", lifetime)
    return HubSpotSettings(
        token=str(options["token"]).strip(),
        portal_id=int(options["portal_id"]),
        plan_property=str(options["plan_property"]).strip(),
        lifetime_value=where,
        timeout=float(options["timeout"]),
        rate=float(options["rate"]),
        api_base=str(options["api_base"]).rstrip("/"),
        app_base=str(options["app_base"]).rstrip("/"),
    )
