"""A local stand-in for HubSpot's CRM API, for tests, on 127.0.0.1.

It follows HubSpot's published shapes for the calls an enricher makes:

- ``POST /crm/v3/objects/contacts/search``: ``filterGroups`` (ORed) of
  ``filters`` (ANDed) with ``EQ``/``NEQ``/``HAS_PROPERTY``, ``sorts``,
  ``properties``, ``limit``; answers ``{"total", "results": [record]}``;
- ``GET /crm/v4/objects/{type}/{id}/associations/{toType}``: ``{"results":
  [{"toObjectId", "associationTypes": [{"category", "typeId", "label"}]}]}``;
- ``GET /crm/v3/objects/{type}/{id}?properties=a,b`` and ``POST
  /crm/v3/objects/{type}/batch/read`` (207 with ``errors`` when some are missing);
- ``GET /crm/v3/owners/{id}``.

A record is ``{"id", "properties", "createdAt", "updatedAt", "archived"}``.
Every request needs ``Authorization: Bearer <token>`` (else 401 with
HubSpot's error JSON). Requests are limited as HubSpot limits them: ``limit``
in any rolling ``window`` seconds, and ``search_limit`` searches a second;
past either, 429 with ``Retry-After`` and the ``RATE_LIMIT`` error naming
the policy. A test can make it slow (``delay``), fail the next requests
(``fail_next``, ``throttle_next``), fail one endpoint (``fail_path``) or
stop it (``stop``), and reads what reached it in ``requests``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from agentdesk.plugin.serving import EmbeddedServer

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PORTAL_ID = 4412987
#: HubSpot's association type ids, contact to company: primary, and unlabeled.
PRIMARY_COMPANY = 1
CONTACT_TO_COMPANY = 279
CONTACT_TO_DEAL = 4
_OBJECT_TYPES = {"contacts", "companies", "deals"}
_DEFAULT_PROPERTIES = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_object_id"),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    at: float
    status: int = 0
    body: Any = None


@dataclass
class Failure:
    status: int
    retry_after: str | None = None
    policy: str | None = None


@dataclass
class FakeHubSpot:
    """``async with FakeHubSpot() as hub:`` serves the API at ``hub.url``."""

    token: str = TOKEN
    #: Requests allowed in any rolling ``window`` seconds (HubSpot: 100 per 10 s).
    limit: int = 100
    window: float = 10.0
    #: Searches allowed in any second (HubSpot: 5).
    search_limit: int = 5
    #: What a 429 puts in ``Retry-After``.
    retry_after: str = "1"
    #: Seconds every request waits before it is answered.
    delay: float = 0.0
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in _OBJECT_TYPES}
    )
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (from type, from id, to type) -> [(to id, [(category, type id, label)])]
    associations: dict[
        tuple[str, str, str], list[tuple[str, list[tuple[str, int, str | None]]]]
    ] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1001)
        self._failures: deque[Failure] = deque()
        self._broken: dict[str, tuple[int, str, str | None]] = {}
        self._accepted: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._server = EmbeddedServer(
            "127.0.0.1",
            0,
            routes=[
                Route("/crm/v3/objects/{kind}/search", self._search, methods=["POST"]),
                Route("/crm/v3/objects/{kind}/batch/read", self._batch_read, methods=["POST"]),
                Route("/crm/v3/objects/{kind}/{id}", self._read, methods=["GET"]),
                Route(
                    "/crm/v4/objects/{kind}/{id}/associations/{to_kind}",
                    self._associated,
                    methods=["GET"],
                ),
                Route("/crm/v3/owners/{id}", self._owner, methods=["GET"]),
            ],
        )

    async def __aenter__(self) -> FakeHubSpot:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop serving: from now on, connections to ``url`` are refused."""
        await self._server.stop()

    @property
    def url(self) -> str:
        return self._server.base_url or ""

    # -- the CRM's data -----------------------------------------------------------------

    def add(self, kind: str, **properties: Any) -> str:
        """Make a record of ``kind`` (contacts, companies, deals); returns its id."""
        record_id = str(next(self._ids))
        stamp = "2024-05-02T09:30:00.000Z"
        self.records[kind][record_id] = {
            "id": record_id,
            "properties": {
                "createdate": stamp,
                "lastmodifieddate": stamp,
                "hs_lastmodifieddate": stamp,
                "hs_object_id": record_id,
                **properties,
            },
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return record_id

    def add_owner(self, first: Any, last: Any, email: Any) -> str:
        owner_id = str(next(self._ids))
        self.owners[owner_id] = {
            "id": owner_id,
            "email": email,
            "type": "PERSON",
            "firstName": first,
            "lastName": last,
            "userId": int(owner_id) * 7,
            "userIdIncludingInactive": int(owner_id) * 7,
            "createdAt": "2023-01-10T08:00:00.000Z",
            "updatedAt": "2024-03-01T08:00:00.000Z",
            "archived": False,
        }
        return owner_id

    def associate(
        self, kind: str, record_id: str, to_kind: str, to_id: str, *, primary: bool = False
    ) -> None:
        """Associate two records both ways, as HubSpot does (unlabeled, or as primary)."""
        if to_kind == "companies":
            types = [("HUBSPOT_DEFINED", CONTACT_TO_COMPANY, None)]
            if primary:
                types.insert(0, ("HUBSPOT_DEFINED", PRIMARY_COMPANY, "Primary"))
        else:
            types = [("HUBSPOT_DEFINED", CONTACT_TO_DEAL, None)]
        self.associations.setdefault((kind, record_id, to_kind), []).append((to_id, types))
        self.associations.setdefault((to_kind, to_id, kind), []).append((record_id, types))

    # -- telling it what to do -----------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with this status and HubSpot's error JSON."""
        self._failures.extend(Failure(status) for _ in range(times))

    def throttle_next(
        self, retry_after: str | None, *, times: int = 1, policy: str = "TEN_SECONDLY_ROLLING"
    ) -> None:
        """Answer the next ``times`` requests 429, with this ``Retry-After`` (None: none)."""
        self._failures.extend(Failure(429, retry_after, policy) for _ in range(times))

    def fail_path(
        self,
        fragment: str,
        status: int,
        *,
        category: str = "INTERNAL_ERROR",
        raw: str | None = None,
    ) -> None:
        """Answer every request whose path holds ``fragment`` with this status: HubSpot's
        error JSON in ``category``, or ``raw`` as plain text (a proxy's page)."""
        self._broken[fragment] = (status, category, raw)

    def answered(self, status: int) -> list[RecordedRequest]:
        return [r for r in self.requests if r.status == status]

    def searches(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/search")]

    def busiest(self, seconds: float) -> int:
        """The most requests that reached it within any ``seconds`` (answered or not)."""
        times = sorted(r.at for r in self.requests)
        most, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

    # -- the API ------------------------------------------------------------------------

    async def _admit(
        self, request: Request, *, search: bool = False
    ) -> tuple[RecordedRequest, Response | None]:
        """Record the request; the refusal to answer with when it gets none."""
        body = None
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                body = None
        recorded = RecordedRequest(request.method, request.url.path, time.monotonic(), body=body)
        self.requests.append(recorded)
        if self.delay:
            await asyncio.sleep(self.delay)
        refused = self._refusal(request, search)
        if refused is not None:
            recorded.status = refused.status_code
        return recorded, refused

    def _refusal(self, request: Request, search: bool) -> Response | None:
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        if self._failures:
            failure = self._failures.popleft()
            if failure.status == 429:
                return self._rate_limited(failure.policy or "SECONDLY", failure.retry_after)
            return _error(failure.status, "internal error", "INTERNAL_ERROR")
        for fragment, (status, category, raw) in self._broken.items():
            if fragment in request.url.path:
                if raw is not None:
                    return PlainTextResponse(raw, status_code=status)
                return _error(status, f"refused by the test ({category})", category)
        now = time.monotonic()
        while self._accepted and now - self._accepted[0] >= self.window:
            self._accepted.popleft()
        while self._searches and now - self._searches[0] >= 1.0:
            self._searches.popleft()
        if len(self._accepted) >= self.limit:
            return self._rate_limited("TEN_SECONDLY_ROLLING", self.retry_after)
        if search and len(self._searches) >= self.search_limit:
            return self._rate_limited("SECONDLY", self.retry_after)
        self._accepted.append(now)
        if search:
            self._searches.append(now)
        return None

    def _rate_limited(self, policy: str, retry_after: str | None) -> Response:
        body = {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
        }
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return JSONResponse(body, status_code=429, headers=headers)

    def _kind(self, request: Request, key: str = "kind") -> str | None:
        kind = request.path_params[key]
        return kind if kind in _OBJECT_TYPES else None

    async def _search(self, request: Request) -> Response:
        recorded, refused = await self._admit(request, search=True)
        if refused is not None:
            return refused
        kind = self._kind(request)
        body = recorded.body
        problem = _search_problem(body) if kind is not None else "Unknown object type"
        if problem is not None:
            return self._answer(recorded, _error(400, problem, "VALIDATION_ERROR"))
        assert kind is not None and isinstance(body, dict)
        found = [r for r in self.records[kind].values() if _matches(r, body.get("filterGroups"))]
        for sort in reversed(body.get("sorts") or []):
            name = sort.get("propertyName", "")
            found.sort(
                key=lambda r, name=name: str(r["properties"].get(name) or ""),
                reverse=sort.get("direction") == "DESCENDING",
            )
        limit = int(body.get("limit") or 10)
        page = [_shaped(r, body.get("properties"), kind) for r in found[:limit]]
        answer: dict[str, Any] = {"total": len(found), "results": page}
        if len(found) > limit:
            answer["paging"] = {"next": {"after": str(limit)}}
        return self._answer(recorded, JSONResponse(answer))

    async def _read(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        kind = self._kind(request)
        record = self.records[kind].get(request.path_params["id"]) if kind else None
        if record is None:
            return self._answer(recorded, _not_found(request.path_params["id"]))
        names = [n for v in request.query_params.getlist("properties") for n in v.split(",") if n]
        assert kind is not None
        return self._answer(recorded, JSONResponse(_shaped(record, names or None, kind)))

    async def _batch_read(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        kind = self._kind(request)
        body = recorded.body
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if kind is None or not isinstance(inputs, list) or len(inputs) > 100:
            return self._answer(recorded, _error(400, "Invalid input JSON", "VALIDATION_ERROR"))
        assert isinstance(body, dict)
        ids = [str(item.get("id")) for item in inputs if isinstance(item, dict)]
        found = [self.records[kind][i] for i in ids if i in self.records[kind]]
        missing = [i for i in ids if i not in self.records[kind]]
        stamp = "2024-05-02T09:30:01.000Z"
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": [_shaped(r, body.get("properties"), kind) for r in found],
            "requestedAt": stamp,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if missing:
            answer["numErrors"] = 1
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {kind.upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
        return self._answer(recorded, JSONResponse(answer, status_code=207 if missing else 200))

    async def _associated(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        kind, to_kind = self._kind(request), self._kind(request, "to_kind")
        if kind is None or to_kind is None:
            return self._answer(recorded, _error(400, "Unknown object type", "VALIDATION_ERROR"))
        linked = self.associations.get((kind, request.path_params["id"], to_kind), [])
        limit = int(request.query_params.get("limit", "500"))
        results = [
            {
                "toObjectId": int(to_id),
                "associationTypes": [
                    {"category": category, "typeId": type_id, "label": label}
                    for category, type_id, label in types
                ],
            }
            for to_id, types in linked[:limit]
        ]
        return self._answer(recorded, JSONResponse({"results": results}))

    async def _owner(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        owner = self.owners.get(request.path_params["id"])
        if owner is None:
            return self._answer(recorded, _not_found(request.path_params["id"]))
        return self._answer(recorded, JSONResponse(owner))

    def _answer(self, recorded: RecordedRequest, response: Response) -> Response:
        recorded.status = response.status_code
        return response


def _search_problem(body: Any) -> str | None:
    """What HubSpot would refuse in a search body (five groups, 25 filters at most)."""
    if not isinstance(body, dict):
        return "Invalid input JSON on line 1"
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or len(groups) > 5:
        return "There were too many filter groups: at most 5 are allowed"
    filters = [f for g in groups for f in (g.get("filters") or [])]
    if len(filters) > 25:
        return "There were too many filters: at most 25 are allowed"
    for one in filters:
        if one.get("operator") not in ("EQ", "NEQ", "HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return f"Unsupported operator {one.get('operator')!r} (this fake knows a few)"
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or not 0 < limit <= 200:
        return "limit must be between 1 and 200"
    return None


def _matches(record: Mapping[str, Any], groups: Any) -> bool:
    if not groups:
        return True
    return any(all(_holds(record, f) for f in g.get("filters", [])) for g in groups)


def _holds(record: Mapping[str, Any], one: Mapping[str, Any]) -> bool:
    name = one.get("propertyName", "")
    have = record["properties"].get(name)
    operator = one.get("operator")
    if operator == "HAS_PROPERTY":
        return have not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return have in (None, "")
    # HubSpot compares emails without case, other text as stored.
    want = str(one.get("value", ""))
    same = (
        str(have).lower() == want.lower()
        if name == "email"
        else have is not None and str(have) == want
    )
    return same if operator == "EQ" else not same


def _shaped(record: dict[str, Any], names: Any, kind: str) -> dict[str, Any]:
    """The record with the properties asked for (HubSpot's defaults when none are)."""
    wanted = names if isinstance(names, list) and names else _DEFAULT_PROPERTIES[kind]
    properties = record["properties"]
    chosen = {n: properties.get(n) for n in wanted}
    chosen["hs_object_id"] = properties["hs_object_id"]
    return {**record, "properties": chosen}


def _not_found(record_id: str) -> Response:
    return _error(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        {"id": [record_id]},
    )


def _error(
    status: int, message: str, category: str, context: Mapping[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if context:
        body["context"] = dict(context)
    return JSONResponse(body, status_code=status)
