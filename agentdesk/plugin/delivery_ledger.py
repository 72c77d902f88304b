"""Which replies went out, by outbox key, kept in the channel's durable state:
idempotency for a provider whose API takes no idempotency key.

Around each send::

    record = ledger.get(outbound.key)
    if record is not None and record.external_id is not None:
        return Delivery(external_id=record.external_id)       # sent already
    if record is not None:
        ...  # it began and the answer never came: ask the provider if it exists
    await ledger.begin(outbound.key)                        # durable before the send
    sent = await provider.send(...)                         # a definite refusal: forget(key)
    await ledger.done(outbound.key, sent.id)                # durable after it

The window that remains is between the provider taking the message and
``done`` being stored (a crash there, or a timeout of the answer): the key is
then *begun* without an id, and the next try must look the message up at the
provider (by recipient and text, or a reference it echoes) rather than send
again. Nothing can close that window without the provider's help; ``begin``
before the request makes it the only one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .context import PluginState

STATE_KEY = "deliveries"
#: Replies remembered; the outbox retries a reply long before this many newer ones went out.
MEMORY = 2000


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    #: The provider's id of the message, None while the send's outcome is unknown.
    external_id: str | None
    #: When the send began (Unix time).
    began: float


class DeliveryLedger:
    """Outbox key → the provider's message id, durable (in ``context.state``),
    bounded to the latest ``MEMORY`` keys; ``state_key`` names its entry, so a
    channel may keep several (replies, calls)."""

    def __init__(
        self,
        state: PluginState,
        clock: Callable[[], float] = time.time,
        *,
        state_key: str = STATE_KEY,
    ) -> None:
        self._state = state
        self._clock = clock
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
        known = entry.get("id", entry.get("sid"))  # "sid": the Twilio channel's first form
        began = entry.get("at")
        return DeliveryRecord(
            known if isinstance(known, str) else None,
            float(began) if isinstance(began, (int, float)) else 0.0,
        )

    def known_ids(self) -> set[str]:
        """Every message id already credited to a key."""
        return {r.external_id for k in self._entries if (r := self.get(k)) and r.external_id}

    def key_for(self, external_id: str) -> str | None:
        """The outbox key that went out as message ``external_id``, if remembered."""
        for key in self._entries:
            record = self.get(key)
            if record is not None and record.external_id == external_id:
                return key
        return None

    async def begin(self, key: str) -> DeliveryRecord:
        """Note that ``key`` is about to be sent (kept if it already began)."""
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = {"id": None, "at": self._clock()}
            while len(self._entries) > MEMORY:
                self._entries.pop(next(iter(self._entries)))
            await self._save()
        record = self.get(key)
        assert record is not None
        return record

    async def done(self, key: str, external_id: str) -> None:
        """``key`` went out as message ``external_id``."""
        record = self.get(key)
        if record is not None and record.external_id == external_id:
            return
        entry = self._entries.get(key)
        began = entry.get("at") if entry is not None else self._clock()
        self._entries[key] = {"id": external_id, "at": began}
        await self._save()

    async def learn(self, key: str, external_id: str) -> None:
        """The provider named ``external_id`` for ``key`` (a status callback):
        settles a send that only began."""
        record = self.get(key)
        if record is not None and record.external_id is None:
            await self.done(key, external_id)

    async def forget(self, key: str) -> None:
        """The send of ``key`` certainly never reached the provider."""
        record = self.get(key)
        if record is not None and record.external_id is None:
            del self._entries[key]
            await self._save()

    async def _save(self) -> None:
        async with self._lock:
            await self._state.set(self._state_key, {k: dict(v) for k, v in self._entries.items()})
