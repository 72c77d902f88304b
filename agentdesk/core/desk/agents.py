"""Agents, their tokens and their presence.

An agent's record is kept in the store's key-value state under
``AGENTS_NAMESPACE`` (a name no channel can take), written by the pipeline
like any change, so adding or revoking an agent is one durable batch. A
token is 192 random bits shown once; the store keeps its SHA-256, which is
enough for a secret of that strength (a slow hash protects guessable
passwords, and a token is not one). Presence is not stored: it is what the
hub sees of the consoles now.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Any

import msgspec

from agentdesk.api import requests as rq
from agentdesk.api.agents import AgentInfo, AgentToken, Presence
from agentdesk.api.errors import DeskError, conflict, not_found
from agentdesk.store import Batch

from .context import Plan, PlanContext

#: Channel names are plain words; a slash keeps the desk's own state apart.
AGENTS_NAMESPACE = "agentdesk/agents"
TOKEN_PREFIX = "adk_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_WORD = re.compile(r"^[\w.-]{1,40}$")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class AgentBook:
    """The agents of a desk, read from its state; replaced whole on each change
    so the store's thread and the event loop may both read it."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self._records = records
        self._by_hash = {r["token_hash"]: name for name, r in records.items() if not r["revoked"]}

    @classmethod
    def from_state(cls, items: Iterable[tuple[str, str, Any]]) -> AgentBook:
        return cls({key: value for ns, key, value in items if ns == AGENTS_NAMESPACE})

    def changed(self, name: str, record: dict[str, Any] | None) -> AgentBook:
        records = dict(self._records)
        if record is None:
            records.pop(name, None)
        else:
            records[name] = record
        return AgentBook(records)

    def get(self, name: str) -> AgentInfo | None:
        record = self._records.get(name)
        return None if record is None else info_of(record)

    def all(self) -> list[AgentInfo]:
        return [info_of(self._records[name]) for name in sorted(self._records)]

    def __len__(self) -> int:
        return len(self._records)

    def token_hash_of(self, name: str) -> str | None:
        """The hash of the agent's working token; None when revoked or unknown."""
        record = self._records.get(name)
        return None if record is None or record["revoked"] else str(record["token_hash"])

    def authenticate(self, token: str) -> AgentInfo | None:
        """The agent this token belongs to, unless revoked or unknown."""
        digest = token_hash(token)
        name = self._by_hash.get(digest)
        if name is None:
            return None
        record = self._records[name]
        # The dictionary found it; the constant-time comparison is what decides.
        if not hmac.compare_digest(record["token_hash"], digest):
            return None
        return info_of(record)


def info_of(record: dict[str, Any]) -> AgentInfo:
    fields = {k: v for k, v in record.items() if k != "token_hash"}
    return msgspec.convert(fields, AgentInfo)


def _record(info: AgentInfo, digest: str) -> dict[str, Any]:
    record: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(info))
    record.pop("presence", None)
    record["token_hash"] = digest
    return record


def _stored(ctx: PlanContext, name: str) -> dict[str, Any]:
    record = ctx.store.get_state(AGENTS_NAMESPACE, name)
    if record is None:
        raise not_found(f"no agent named {name!r}")
    return dict(record)


def _checked_words(what: str, words: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
    for word in out:
        if not _WORD.match(word):
            raise DeskError(f"{what} {word!r}: letters, digits, '.', '_' or '-' only")
    return out


def plan_add_agent(ctx: PlanContext, request: rq.AddAgent) -> Plan:
    name = request.name.strip().lower()
    if not _NAME.match(name):
        raise DeskError(
            f"agent name {request.name!r}: up to 40 lowercase letters, digits, '.', '_' or '-'"
        )
    if ctx.store.get_state(AGENTS_NAMESPACE, name) is not None:
        raise conflict(f"an agent named {name!r} exists already (rotate their token instead)")
    for kind, count in request.capacity.items():
        if count < 0 or count > 1000:
            raise DeskError(f"capacity {kind}={count}: between 0 and 1000")
    if request.total_limit is not None and not 0 <= request.total_limit <= 1000:
        raise DeskError(f"total limit {request.total_limit}: between 0 and 1000")
    info = AgentInfo(
        name=name,
        role=request.role,
        display_name=request.display_name.strip()[:80],
        teams=_checked_words("team", request.teams),
        skills=_checked_words("skill", request.skills),
        capacity=dict(request.capacity),
        total_limit=request.total_limit,
        created_at=ctx.now,
    )
    token = new_token()
    batch = Batch(state=[(AGENTS_NAMESPACE, name, _record(info, token_hash(token)))])
    return Plan(batch, [], AgentToken(agent=info, token=token))


def plan_revoke(ctx: PlanContext, request: rq.RevokeAgent) -> Plan:
    record = _stored(ctx, request.name)
    record["revoked"] = True
    info = info_of(record)
    return Plan(Batch(state=[(AGENTS_NAMESPACE, info.name, record)]), [], info)


def plan_rotate(ctx: PlanContext, request: rq.RotateToken) -> Plan:
    record = _stored(ctx, request.name)
    token = new_token()
    record["token_hash"] = token_hash(token)
    record["revoked"] = False
    info = info_of(record)
    return Plan(Batch(state=[(AGENTS_NAMESPACE, info.name, record)]), [], AgentToken(info, token))


def with_presence(info: AgentInfo, presence: Presence) -> AgentInfo:
    return msgspec.structs.replace(info, presence=presence)
