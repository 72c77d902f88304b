"""The calls of HubSpot's CRM API one look-up makes.

- ``POST /crm/v3/objects/contacts/search``: the contact, by email or phone;
- ``GET /crm/v4/objects/contacts/{id}/associations/{companies,deals}``;
- ``GET /crm/v3/objects/companies/{id}`` and ``POST /crm/v3/objects/deals/batch/read``;
- ``GET /crm/v3/owners/{id}``: the contact owner's name.

Every request is paced by the instance's buckets and must be answered before
the look-up's deadline; a 429 is waited out when its ``Retry-After`` fits in
the time left, and reported at once when it does not.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from agentdesk.plugin import LookupUnavailable

from .failures import (
    DAILY_LIMIT,
    DEFAULT_RETRY_AFTER,
    NOT_UNDERSTOOD,
    TIMEOUT,
    UNREACHABLE,
    policy_name,
    rate_limited,
    refusal,
    retry_after_seconds,
)
from .throttle import Throttled, TokenBucket
from .values import object_id

#: HubSpot lists at most this many associations on a page; one page is enough
#: to count a customer's deals and pick their company.
ASSOCIATION_PAGE = 500
#: The most records one batch read takes.
BATCH_LIMIT = 100
#: How many times a look-up waits out a 429 before giving up.
MAX_THROTTLED = 3


@dataclass(frozen=True, slots=True)
class Limits:
    """The instance's buckets: every request, and the search endpoint's own limit."""

    requests: TokenBucket
    searches: TokenBucket


@dataclass(frozen=True, slots=True)
class Association:
    """One associated record, with the types of its association (labels)."""

    to_id: str
    type_ids: tuple[tuple[str, int], ...]

    @property
    def primary(self) -> bool:
        # HubSpot's own "Primary" label, contact to company.
        return ("HUBSPOT_DEFINED", 1) in self.type_ids


class HubSpotApi:
    """One look-up's requests, on its client and before its ``deadline`` (loop time)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        limits: Limits,
        deadline: float,
        logger: logging.Logger,
        warned: set[str],
    ) -> None:
        self.client = client
        self.limits = limits
        self.deadline = deadline
        self.logger = logger
        #: Scopes already reported missing (the instance's: said once, not per look-up).
        self.warned = warned

    async def find_contact(
        self, property_names: tuple[str, ...], value: str, properties: list[str]
    ) -> dict[str, Any] | None:
        """The contact whose ``property_names`` (any of them) equals ``value``;
        the latest modified when several do."""
        body = {
            # Filter groups are ORed: one group per property.
            "filterGroups": [
                {"filters": [{"propertyName": name, "operator": "EQ", "value": value}]}
                for name in property_names
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
            "properties": properties,
            "limit": 1,
        }
        answer = await self.call("POST", "/crm/v3/objects/contacts/search", json=body, search=True)
        results = answer.get("results")
        if not isinstance(results, list):
            # Not "unknown": the desk would forget what it had cached.
            raise LookupUnavailable(NOT_UNDERSTOOD)
        if not results or not isinstance(results[0], dict):
            return None
        return results[0]

    async def associations(self, from_type: str, from_id: str, to_type: str) -> list[Association]:
        """The records of ``to_type`` associated with one record (first page)."""
        path = f"/crm/v4/objects/{from_type}/{quote(from_id, safe='')}/associations/{to_type}"
        answer = await self.call(
            "GET",
            path,
            params={"limit": str(ASSOCIATION_PAGE)},
            scope=f"crm.objects.{to_type}.read",
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        found = []
        for item in results if isinstance(results, list) else []:
            if not isinstance(item, dict):
                continue
            to_id = object_id(item.get("toObjectId"))
            if to_id is None:
                continue
            types = item.get("associationTypes")
            specs = tuple(
                (str(spec.get("category")), spec["typeId"])
                for spec in (types if isinstance(types, list) else [])
                if isinstance(spec, dict) and type(spec.get("typeId")) is int
            )
            found.append(Association(to_id, specs))
        return found

    async def read(
        self, object_type: str, record_id: str, properties: list[str]
    ) -> dict[str, Any] | None:
        """One record with ``properties``; None when HubSpot has no such record."""
        path = f"/crm/v3/objects/{object_type}/{quote(record_id, safe='')}"
        answer = await self.call(
            "GET",
            path,
            params={"properties": ",".join(properties)},
            missing_ok=True,
            scope=f"crm.objects.{object_type}.read",
        )
        return answer if isinstance(answer, dict) else None

    async def read_batch(
        self, object_type: str, record_ids: list[str], properties: list[str]
    ) -> list[dict[str, Any]] | None:
        """The records of ``record_ids`` that exist (the first ``BATCH_LIMIT``);
        None when the token may not read them."""
        if not record_ids:
            return []
        body = {
            "properties": properties,
            "inputs": [{"id": record_id} for record_id in record_ids[:BATCH_LIMIT]],
        }
        answer = await self.call(
            "POST",
            f"/crm/v3/objects/{object_type}/batch/read",
            json=body,
            scope=f"crm.objects.{object_type}.read",
        )
        if answer is None:
            return None
        results = answer.get("results")
        return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []

    async def owner(self, owner_id: str) -> dict[str, Any] | None:
        """The owner (a HubSpot user) with this id; None when there is none."""
        answer = await self.call(
            "GET",
            f"/crm/v3/owners/{quote(owner_id, safe='')}",
            missing_ok=True,
            scope="crm.objects.owners.read",
        )
        return answer if isinstance(answer, dict) else None

    # -- one request -----------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        search: bool = False,
        missing_ok: bool = False,
        scope: str | None = None,
    ) -> Any:
        """The JSON object of a 200 or 207 answer; None for a 404 when
        ``missing_ok``, and for a 403 on a call that needs ``scope`` (the
        fields it feeds are left out); ``LookupUnavailable`` for anything else."""
        for _ in range(MAX_THROTTLED + 1):
            await self._turn(search)
            try:
                response = await self.client.request(method, path, params=params, json=json)
            except httpx.TimeoutException:
                raise LookupUnavailable(TIMEOUT) from None
            except httpx.TransportError as exc:
                self.logger.info("HubSpot cannot be reached: %s", type(exc).__name__)
                raise LookupUnavailable(UNREACHABLE) from None
            if response.status_code in (200, 207):
                answer = _json(response)
                if not isinstance(answer, dict):
                    raise LookupUnavailable(NOT_UNDERSTOOD)
                return answer
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code == 403 and scope is not None:
                self._missing_scope(scope)
                return None
            if response.status_code != 429:
                raise refusal(response.status_code)
            await self._wait_out(response)
        raise rate_limited(DEFAULT_RETRY_AFTER)

    def _missing_scope(self, scope: str) -> None:
        if scope not in self.warned:
            self.warned.add(scope)
            self.logger.warning(
                "HubSpot refused a read that needs the %s scope: add it to the private app; "
                "until then the fields it gives are left out",
                scope,
            )

    async def _turn(self, search: bool) -> None:
        try:
            await self.limits.requests.take(self.deadline)
            if search:
                await self.limits.searches.take(self.deadline)
        except Throttled as exc:
            raise rate_limited(exc.wait) from None

    async def _wait_out(self, response: httpx.Response) -> None:
        """Sleep as a 429 asks, or raise when that would pass the deadline."""
        if policy_name(_json(response)) == "DAILY":
            raise LookupUnavailable(DAILY_LIMIT)
        wait = retry_after_seconds(response.headers.get("retry-after"))
        wait = DEFAULT_RETRY_AFTER if wait is None else wait
        # Every look-up of this instance holds back: the limit is the account's.
        self.limits.requests.hold(wait)
        loop = asyncio.get_running_loop()
        if loop.time() + wait >= self.deadline:
            raise rate_limited(wait)
        self.logger.debug("HubSpot asked to slow down; waiting %.1f s", wait)
        await asyncio.sleep(wait)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
