"""The desk's CRM cache: what enrichers said about each customer, kept in the store.

An answer of the enrichers (found by the channel host, which runs them) is
planned here like any change: the fields, cleaned and bounded as a
channel's customer attributes are, become the customer's attributes (so
routing rules and search filters read them as customer fields), and a
record in the desk's state says which attributes came from which enricher,
when, and why the last look-up failed. Both are written in one batch.

The record (``crm`` namespace, keyed by customer id)::

    {"sources": {"crm": {"fields": {"plan": "Enterprise"}, "at": 1790000000.0}},
     "checked_at": 1790000000.0, "tried_at": 1790000000.0,
     "error": "", "error_at": null}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from agentdesk.api.crm import CrmProfile
from agentdesk.domain import Customer
from agentdesk.domain.evolve import evolve
from agentdesk.domain.text import clean_text, one_line
from agentdesk.store import Batch, Store

from .context import Plan, PlanContext
from .ingest import MAX_ATTRIBUTE_NAME, MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES

#: The desk's own state namespace for the records (a channel's name has no slash).
CRM_NAMESPACE = "agentdesk/crm"
#: After a failed look-up, the CRM is asked again this much later at the soonest.
RETRY_AFTER_ERROR = 60.0
MAX_REASON = 120
_FIELD_NAME = re.compile(r"^[a-z0-9_]+$")


class CrmGateway(Protocol):
    """Who runs the enrichers (the channel host): the desk asks it to look a
    customer up, and whether it is doing so."""

    @property
    def enrichers(self) -> tuple[str, ...]:
        """The names of the enrichers that run."""
        ...

    @property
    def ttl(self) -> float:
        """Seconds the fields looked up are fresh."""
        ...

    def look_up_soon(self, customer_id: str) -> None:
        """Look the customer up in the background unless the cache is fresh."""

    def running(self, customer_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    """What one enricher said about a customer: ``fields`` (None: it does not
    know them), or ``error``, why it could not answer."""

    enricher: str
    fields: dict[str, str] | None = None
    error: str = ""


def clean_fields(raw: Any) -> dict[str, str]:
    """An enricher's fields as the desk keeps them: lower-case names of letters,
    digits and underscores, values on one line without control characters,
    both bounded as a channel's customer attributes are."""
    if not isinstance(raw, dict):
        return {}
    fields: dict[str, str] = {}
    for key, value in raw.items():
        if len(fields) >= MAX_ATTRIBUTES:
            break
        if not isinstance(key, str) or value is None:
            continue
        name = one_line(clean_text(key), MAX_ATTRIBUTE_NAME).strip().lower()
        if not _FIELD_NAME.match(name) or name in fields:
            continue
        text = one_line(clean_text(str(value)), MAX_ATTRIBUTE_VALUE).strip()
        if text:
            fields[name] = text
    return fields


def reason_of(error: str) -> str:
    return one_line(clean_text(error), MAX_REASON).strip() or "unavailable"


def record_of(store: Store, customer_id: str) -> dict[str, Any] | None:
    record = store.get_state(CRM_NAMESPACE, customer_id)
    return record if isinstance(record, dict) else None


def merged_fields(record: dict[str, Any] | None) -> dict[str, str]:
    """The fields of every source, the first source's first on a shared name."""
    merged: dict[str, str] = {}
    for source in (record or {}).get("sources", {}).values():
        for name, value in source.get("fields", {}).items():
            merged.setdefault(name, value)
    return merged


def field_names(records: Iterable[Any]) -> set[str]:
    """The names of the fields ``records`` hold."""
    names: set[str] = set()
    for record in records:
        if isinstance(record, dict):
            for source in record.get("sources", {}).values():
                names.update(source.get("fields", {}))
    return names


def is_fresh(record: dict[str, Any] | None, now: float, ttl: float) -> bool:
    """Whether the cache spares a look-up now: checked within ``ttl``, or a
    failed look-up too recent to try again."""
    if record is None:
        return False
    checked = record.get("checked_at")
    if checked is not None and now - checked < ttl and not record.get("error"):
        return True
    tried = record.get("tried_at")
    return bool(record.get("error")) and tried is not None and now - tried < RETRY_AFTER_ERROR


def plan_answers(ctx: PlanContext, customer_id: str, answers: list[LookupAnswer]) -> Plan:
    """The record and the customer's attributes after the enrichers' answers."""
    customer = ctx.store.get_customer(customer_id)
    if customer is None:
        return Plan(Batch(), [], None)
    old = record_of(ctx.store, customer_id) or {}
    sources: dict[str, Any] = dict(old.get("sources", {}))
    errors: list[str] = []
    for answer in answers:
        if answer.error:
            errors.append(reason_of(answer.error))  # what it said before stays
        elif answer.fields:
            sources[answer.enricher] = {"fields": clean_fields(answer.fields), "at": ctx.now}
        else:
            sources.pop(answer.enricher, None)  # the CRM no longer knows them
    order = [a.enricher for a in answers]
    sources = dict(sorted(sources.items(), key=lambda kv: _rank(order, kv[0])))
    record = {
        "sources": sources,
        "checked_at": old.get("checked_at") if errors else ctx.now,
        "tried_at": ctx.now,
        "error": "; ".join(dict.fromkeys(errors)),
        "error_at": ctx.now if errors else None,
    }
    batch = Batch(state=[(CRM_NAMESPACE, customer_id, record)])
    updated = _with_fields(customer, merged_fields(old), merged_fields(record))
    if updated is not None:
        batch.customers.append(updated)
    return Plan(batch, [], updated is not None)


def _rank(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _with_fields(
    customer: Customer, before: dict[str, str], after: dict[str, str]
) -> Customer | None:
    """The customer with the CRM's fields as attributes (a field the CRM no
    longer gives goes, unless something else changed it meanwhile); None when
    nothing changes."""
    attributes = {
        name: value
        for name, value in customer.attributes.items()
        if not (name in before and name not in after and before[name] == value)
    }
    attributes.update(after)
    if attributes == customer.attributes:
        return None
    return evolve(customer, attributes=attributes)


def profile_of(
    customer_id: str,
    record: dict[str, Any] | None,
    enrichers: tuple[str, ...],
    running: bool,
) -> CrmProfile:
    sources = (record or {}).get("sources", {})
    times = [source.get("at") for source in sources.values() if source.get("at") is not None]
    return CrmProfile(
        customer_id=customer_id,
        enrichers=list(enrichers),
        fields=merged_fields(record),
        source=list(sources),
        # Known to no CRM: as of the last look-up that said so.
        fetched_at=min(times) if times else (record or {}).get("checked_at"),
        error=(record or {}).get("error", ""),
        error_at=(record or {}).get("error_at"),
        running=running,
    )
