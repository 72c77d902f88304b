"""Read receipts from customers, turned into the replies they mark read.

A Matrix read receipt says "read up to this event": a customer whose client
marks the bot's latest reply has read the earlier ones too, and a receipt on
the customer's own later message covers every reply before it. So the
channel keeps, per room, its replies in the order they went out (event id,
outbox key, when), and a receipt marks read each one up to that point, once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from agentdesk.plugin import PluginState

STATE_KEY = "sent"
#: Replies remembered per room: a receipt comes long before this many newer ones.
PER_ROOM = 100
#: Customer events whose time is remembered, for receipts placed on them.
SEEN = 2000


@dataclass(slots=True)
class SentReply:
    event_id: str
    key: str
    #: When it went out, on the homeserver's clock (ms) when the echo came, else ours.
    at_ms: int
    read: bool = False


class ReadTracker:
    def __init__(self, state: PluginState) -> None:
        self._state = state
        stored = state.get(STATE_KEY)
        self._rooms: dict[str, list[SentReply]] = {}
        if isinstance(stored, dict):
            for room_id, rows in stored.items():
                if isinstance(rows, list):
                    self._rooms[room_id] = [
                        SentReply(str(r[0]), str(r[1]), int(r[2]), bool(r[3]))
                        for r in rows
                        if isinstance(r, list) and len(r) == 4
                    ]
        # In memory only: a receipt on a message from before a restart falls
        # back to the replies' own ids.
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = asyncio.Lock()

    async def sent(self, room_id: str, event_id: str, key: str, at_ms: int) -> None:
        rows = self._rooms.setdefault(room_id, [])
        if any(row.event_id == event_id for row in rows):
            return
        rows.append(SentReply(event_id, key, at_ms))
        del rows[:-PER_ROOM]
        await self._save()

    def stamp(self, room_id: str, event_id: str, at_ms: int) -> None:
        """The homeserver's time of one of our replies (from its echo in /sync)."""
        for row in self._rooms.get(room_id, ()):
            if row.event_id == event_id:
                row.at_ms = at_ms

    def saw(self, event_id: str, at_ms: int) -> None:
        """A customer's event and its time, for a receipt that lands on it."""
        self._seen[event_id] = at_ms
        while len(self._seen) > SEEN:
            self._seen.popitem(last=False)

    async def read_up_to(self, room_id: str, event_id: str) -> list[str]:
        """The outbox keys a receipt on ``event_id`` marks read (each only once)."""
        rows = self._rooms.get(room_id, [])
        index = next((i for i, row in enumerate(rows) if row.event_id == event_id), None)
        if index is not None:
            covered = rows[: index + 1]
        elif event_id in self._seen:
            until = self._seen[event_id]
            covered = [row for row in rows if row.at_ms <= until]
        else:
            return []
        keys = [row.key for row in covered if not row.read]
        if keys:
            for row in covered:
                row.read = True
            await self._save()
        return keys

    async def _save(self) -> None:
        async with self._lock:
            await self._state.set(
                STATE_KEY,
                {
                    room: [[r.event_id, r.key, r.at_ms, r.read] for r in rows]
                    for room, rows in self._rooms.items()
                },
            )
