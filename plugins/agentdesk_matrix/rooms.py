"""Which room is which customer's: the direct rooms the bot is in, kept in
the channel's durable state.

A direct room holds the bot and one customer, and the customer's user id is
their identity on the desk. A customer who opens a second room with the bot
is the same customer; replies go to the room they wrote in last.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentdesk.plugin import PluginState

STATE_KEY = "rooms"


@dataclass(frozen=True, slots=True)
class Room:
    room_id: str
    #: The customer's user id, as the homeserver writes it.
    customer: str
    #: Their display name in the room, when they have one.
    name: str = ""


class RoomBook:
    def __init__(self, state: PluginState) -> None:
        self._state = state
        stored = state.get(STATE_KEY)
        rooms = stored.get("rooms") if isinstance(stored, dict) else None
        latest = stored.get("latest") if isinstance(stored, dict) else None
        self._rooms: dict[str, Room] = {}
        for room_id, entry in (rooms or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("customer"), str):
                self._rooms[room_id] = Room(room_id, entry["customer"], str(entry.get("name", "")))
        #: Customer (lower case) → the room a reply goes to.
        self._latest: dict[str, str] = {
            user: room
            for user, room in (latest or {}).items()
            if isinstance(room, str) and room in self._rooms
        }
        self._lock = asyncio.Lock()

    def get(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    def room_of(self, user_id: str) -> str | None:
        """The room a reply to ``user_id`` goes to, if the bot has one."""
        return self._latest.get(user_id.strip().lower())

    def __len__(self) -> int:
        return len(self._rooms)

    async def add(self, room_id: str, customer: str, name: str = "") -> Room:
        room = Room(room_id, customer, name or self._name_of(room_id))
        if self._rooms.get(room_id) != room or self._latest.get(customer.lower()) != room_id:
            self._rooms[room_id] = room
            self._latest[customer.lower()] = room_id
            await self._save()
        return room

    async def wrote_in(self, room: Room) -> None:
        """The customer wrote in ``room``: replies go there from now on."""
        if self._latest.get(room.customer.lower()) != room.room_id:
            self._latest[room.customer.lower()] = room.room_id
            await self._save()

    async def rename(self, room_id: str, name: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None and room.name != name:
            self._rooms[room_id] = Room(room_id, room.customer, name)
            await self._save()

    async def forget(self, room_id: str) -> Room | None:
        """The bot left ``room_id`` (or was made to): a reply opens a new room."""
        room = self._rooms.pop(room_id, None)
        if room is None:
            return None
        key = room.customer.lower()
        if self._latest.get(key) == room_id:
            others = [r.room_id for r in self._rooms.values() if r.customer.lower() == key]
            if others:
                self._latest[key] = others[-1]
            else:
                del self._latest[key]
        await self._save()
        return room

    def _name_of(self, room_id: str) -> str:
        room = self._rooms.get(room_id)
        return room.name if room is not None else ""

    async def _save(self) -> None:
        async with self._lock:
            await self._state.set(
                STATE_KEY,
                {
                    "rooms": {
                        r.room_id: {"customer": r.customer, "name": r.name}
                        for r in self._rooms.values()
                    },
                    "latest": dict(self._latest),
                },
            )
