"""Which replies went out, by outbox key, kept in the channel's durable state.

Twilio's Messages API takes no idempotency key, so the channel records the
key before it asks Twilio to send (``begin``) and the MessageSid once Twilio
answered (``done``). A retry of a key with a sid returns that sid; a retry of
a key that only *began* (the answer never came: a timeout, a crash, the
desk's send timeout) first asks Twilio whether the message exists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import PluginState

STATE_KEY = "deliveries"
#: Replies remembered; the outbox retries a reply long before this many newer ones went out.
MEMORY = 2000


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    #: Twilio's MessageSid, None while the send's outcome is unknown.
    sid: str | None
    #: When the send began (Unix time).
    began: float


class DeliveryBook:
    """Outbox key → MessageSid, durable, bounded to the latest ``MEMORY`` keys."""

    def __init__(
        self,
        state: PluginState,
        clock: Callable[[], float] = time.time,
        *,
        state_key: str = STATE_KEY,
    ) -> None:
        self._state = state
        self._clock = clock
        # The voice channel keeps its call backs in a book of their own.
        self._state_key = state_key
        stored = state.get(state_key)
        # The memory is the truth; each write stores a snapshot of all of it, in
        # order, so two sends racing never lose each other's entry.
        self._entries: dict[str, dict[str, Any]] = (
            {k: dict(v) for k, v in stored.items() if isinstance(v, dict)}
            if isinstance(stored, dict)
            else {}
        )
        self._lock = asyncio.Lock()

    def get(self, key: str) -> DeliveryRecord | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        sid = entry.get("sid")
        began = entry.get("at")
        return DeliveryRecord(
            sid if isinstance(sid, str) else None,
            float(began) if isinstance(began, (int, float)) else 0.0,
        )

    def known_sids(self) -> set[str]:
        """Every MessageSid already credited to a key."""
        return {e["sid"] for e in self._entries.values() if isinstance(e.get("sid"), str)}

    def key_for(self, sid: str) -> str | None:
        """The outbox key that went out as message ``sid``, if it is remembered."""
        for key, entry in self._entries.items():
            if entry.get("sid") == sid:
                return key
        return None

    async def begin(self, key: str) -> DeliveryRecord:
        """Note that ``key`` is about to be sent (kept if it already began)."""
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = {"sid": None, "at": self._clock()}
            while len(self._entries) > MEMORY:
                self._entries.pop(next(iter(self._entries)))
            await self._save()
        record = self.get(key)
        assert record is not None
        return record

    async def done(self, key: str, sid: str) -> None:
        """``key`` went out as message ``sid``."""
        entry = self._entries.get(key)
        if entry is not None and entry.get("sid") == sid:
            return
        began = entry.get("at") if entry is not None else self._clock()
        self._entries[key] = {"sid": sid, "at": began}
        await self._save()

    async def learn(self, key: str, sid: str) -> None:
        """A status callback named ``sid`` for ``key``: settles a send that only began."""
        entry = self._entries.get(key)
        if entry is not None and entry.get("sid") is None:
            await self.done(key, sid)

    async def forget(self, key: str) -> None:
        """The send of ``key`` certainly never reached Twilio."""
        entry = self._entries.get(key)
        if entry is not None and entry.get("sid") is None:
            del self._entries[key]
            await self._save()

    async def _save(self) -> None:
        async with self._lock:
            await self._state.set(self._state_key, {k: dict(v) for k, v in self._entries.items()})
