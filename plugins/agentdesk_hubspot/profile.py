"""A HubSpot contact's profile fields: its company, plan, lifetime value, open
deals, owner and link, in the order the customer pane shows them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentdesk.plugin import LookupUnavailable

from .api import Association, HubSpotApi
from .settings import HubSpotSettings
from .values import amount, number_of, one_line, prop, text_of, value_text

#: Contact properties every look-up reads.
CONTACT_PROPERTIES = ("hubspot_owner_id",)
DEAL_PROPERTIES = ["dealname", "amount", "deal_currency_code", "hs_is_closed", "dealstage"]
_CLOSED_STAGES = {"closedwon", "closedlost"}
#: Deal names shown after the count; the rest is an ellipsis.
NAMES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Profile:
    """What one look-up found, before it is put into fields."""

    contact: dict[str, Any]
    company: dict[str, Any] | None
    deals: list[dict[str, Any]] | None
    owner: dict[str, Any] | None


def contact_properties(settings: HubSpotSettings) -> list[str]:
    names = list(CONTACT_PROPERTIES)
    if settings.lifetime_value is not None and settings.lifetime_value[0] == "contact":
        names.append(settings.lifetime_value[1])
    return names


def company_properties(settings: HubSpotSettings) -> list[str]:
    names = ["name"]
    if settings.plan_property:
        names.append(settings.plan_property)
    if settings.lifetime_value is not None and settings.lifetime_value[0] == "company":
        names.append(settings.lifetime_value[1])
    return list(dict.fromkeys(names))


async def gather_profile(
    api: HubSpotApi, contact: dict[str, Any], contact_id: str, settings: HubSpotSettings
) -> Profile:
    """The contact's company, deals and owner, asked for side by side; the first
    failure cancels the other requests and is raised as it is."""
    try:
        async with asyncio.TaskGroup() as group:
            company = group.create_task(_company(api, contact_id, settings))
            deals = group.create_task(_deals(api, contact_id))
            owner = group.create_task(_owner(api, contact))
    except ExceptionGroup as failed:
        raise _first(failed) from None
    return Profile(contact, company.result(), deals.result(), owner.result())


def _first(failed: ExceptionGroup) -> Exception:
    flat = [exc for exc in failed.exceptions if isinstance(exc, Exception)]
    for exc in flat:
        if isinstance(exc, LookupUnavailable):
            return exc
    return flat[0] if flat else failed


async def _company(
    api: HubSpotApi, contact_id: str, settings: HubSpotSettings
) -> dict[str, Any] | None:
    linked = await api.associations("contacts", contact_id, "companies")
    chosen = _primary(linked)
    if chosen is None:
        return None
    return await api.read("companies", chosen.to_id, company_properties(settings))


def _primary(linked: list[Association]) -> Association | None:
    for association in linked:
        if association.primary:
            return association
    return linked[0] if linked else None


async def _deals(api: HubSpotApi, contact_id: str) -> list[dict[str, Any]] | None:
    linked = await api.associations("contacts", contact_id, "deals")
    if not linked:
        return None
    return await api.read_batch("deals", [a.to_id for a in linked], DEAL_PROPERTIES)


async def _owner(api: HubSpotApi, contact: dict[str, Any]) -> dict[str, Any] | None:
    owner_id = prop(contact, "hubspot_owner_id")
    if owner_id is None or not owner_id.isdigit():
        return None
    return await api.owner(owner_id)


def profile_fields(profile: Profile, contact_id: str, settings: HubSpotSettings) -> dict[str, str]:
    """The pane's fields, in its order; a field HubSpot gave nothing for is left out."""
    fields: dict[str, str | None] = {
        "company": prop(profile.company, "name"),
        "plan": prop(profile.company, settings.plan_property) if settings.plan_property else None,
        "lifetime_value": _lifetime_value(profile, settings),
        "deals": deals_summary(profile.deals) if profile.deals is not None else None,
        "owner": owner_name(profile.owner),
        "link": settings.link(contact_id),
    }
    return {name: value for name, value in fields.items() if value}


def _lifetime_value(profile: Profile, settings: HubSpotSettings) -> str | None:
    if settings.lifetime_value is None:
        return None
    where, name = settings.lifetime_value
    record = profile.contact if where == "contact" else profile.company
    return value_text(prop(record, name))


def is_open(deal: dict[str, Any]) -> bool:
    closed = prop(deal, "hs_is_closed")
    if closed in ("true", "false"):
        return closed == "false"
    # Accounts without the calculated property: HubSpot's default pipeline stages.
    return (prop(deal, "dealstage") or "").lower() not in _CLOSED_STAGES


def deals_summary(deals: list[dict[str, Any]]) -> str:
    """The open deals: count, total and names ("2 open, 12,500 EUR: Renewal,
    Extra seats"), or "none open"."""
    open_deals = [deal for deal in deals if is_open(deal)]
    if not open_deals:
        return "none open"
    text = f"{len(open_deals)} open"
    amounts = [number_of(prop(deal, "amount")) for deal in open_deals]
    known = [number for number in amounts if number is not None]
    if known:
        currencies = {prop(deal, "deal_currency_code") for deal in open_deals}
        currency = currencies.pop() if len(currencies) == 1 else None
        text += f", {amount(sum(known, Decimal(0)))}" + (f" {currency}" if currency else "")
    names = [name for name in (prop(deal, "dealname") for deal in open_deals) if name]
    if names:
        text += ": " + ", ".join(names[:NAMES_SHOWN]) + (", …" if len(names) > NAMES_SHOWN else "")
    return one_line(text)


def owner_name(owner: dict[str, Any] | None) -> str | None:
    """The owner's first and last name, else their email address."""
    if owner is None:
        return None
    parts = [text_of(owner.get(key)) for key in ("firstName", "lastName")]
    name = " ".join(part for part in parts if part)
    return name or text_of(owner.get("email"))
