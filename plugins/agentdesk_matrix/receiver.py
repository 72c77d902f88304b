"""One ``/sync`` answer turned into what the desk is told: invites accepted or
declined, customers' messages, typing and read receipts.

A room whose timeline was cut (``limited``: more happened while the channel
was away than one sync returns) is read back with ``/messages`` down to the
last sync token first, so nothing a customer wrote in between is skipped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from agentdesk.plugin import (
    DeliveryLedger,
    DeliveryReceipt,
    InboundAttachment,
    InboundMessage,
    PluginContext,
    TypingSignal,
)

from .api import MatrixApi
from .events import read_event
from .failures import MatrixError
from .media import MediaStore
from .receipts import ReadTracker
from .rooms import Room, RoomBook
from .settings import MatrixSettings

#: Events read back into a gap, at most (a customer away for weeks writes less).
GAP_LIMIT = 1000
GAP_PAGE = 100
#: Customers' event ids remembered with their room, for ``mark_read``.
EVENT_ROOMS = 2000


class Receiver:
    def __init__(
        self,
        context: PluginContext,
        settings: MatrixSettings,
        api: MatrixApi,
        rooms: RoomBook,
        tracker: ReadTracker,
        ledger: DeliveryLedger,
        media: MediaStore,
    ) -> None:
        self.context = context
        self.settings = settings
        self.api = api
        self.rooms = rooms
        self.tracker = tracker
        self.ledger = ledger
        self.media = media
        self.bot = settings.user_id
        self.logger: logging.Logger = context.logger
        self._typing: dict[str, bool] = {}
        self._ignored: set[str] = set()
        self.event_rooms: OrderedDict[str, str] = OrderedDict()

    async def handle(self, batch: dict[str, Any], since: str | None) -> None:
        """Act on one sync answer; ``since`` is the token it was asked from.

        A temporary failure (the homeserver unreachable) raises ``MatrixError``
        before the batch's token is kept: the same batch is asked for again,
        and what was already emitted is dropped by the desk as a duplicate.
        """
        rooms = _dict(batch.get("rooms"))
        for room_id, room in _dict(rooms.get("invite")).items():
            await self._invited(room_id, _dict(room))
        for room_id, room in _dict(rooms.get("join")).items():
            await self._joined(room_id, _dict(room), since)
        for room_id in _dict(rooms.get("leave")):
            if await self.rooms.forget(room_id) is not None:
                self.logger.info("the bot is no longer in room %s", room_id)

    # -- invites -------------------------------------------------------------------

    async def _invited(self, room_id: str, room: dict[str, Any]) -> None:
        events = _list(_dict(room.get("invite_state")).get("events"))
        mine = [e for e in events if _is_member(e, self.bot) and _membership(e) == "invite"]
        if not mine:
            return
        inviter = str(mine[-1].get("sender") or "")
        if not inviter or inviter.lower() == self.bot.lower():
            return
        if not self.settings.invite_allowed(inviter):
            self.logger.info(
                "declined an invite from %s to room %s: its server is not in invites",
                inviter,
                room_id,
            )
            await self._quietly(self.api.leave(room_id), f"declining room {room_id}")
            return
        name = next((_display_name(e) for e in events if _is_member(e, inviter)), "")
        try:
            await self.api.join(room_id)
        except MatrixError as exc:
            if exc.temporary:
                raise
            self.logger.warning("could not join room %s of %s: %s", room_id, inviter, exc)
            return
        await self.rooms.add(room_id, inviter, name)
        self.logger.info("joined room %s: a conversation with %s", room_id, inviter)

    # -- joined rooms --------------------------------------------------------------

    async def _joined(self, room_id: str, room: dict[str, Any], since: str | None) -> None:
        known = self.rooms.get(room_id) or await self._identify(room_id)
        if known is None:
            return
        timeline = _dict(room.get("timeline"))
        events = _list(timeline.get("events"))
        gap_from = timeline.get("prev_batch")
        if timeline.get("limited") and since and isinstance(gap_from, str):
            events = await self._gap(room_id, gap_from, since) + events
        for event in _list(_dict(room.get("state")).get("events")):
            await self._member_change(known, event, in_timeline=False)
        for event in events:
            current = self.rooms.get(room_id)
            if current is None:
                return  # the customer left: nothing after it is theirs to tell
            await self._event(current, event)
        current = self.rooms.get(room_id)
        if current is not None:
            for event in _list(_dict(room.get("ephemeral")).get("events")):
                await self._ephemeral(current, event)

    async def _identify(self, room_id: str) -> Room | None:
        """A room the bot is in but has no record of (state lost, joined elsewhere):
        a direct room when exactly one other person is in it."""
        if room_id in self._ignored:
            return None
        members = await self.api.joined_members(room_id)
        others = [user for user in members if user.lower() != self.bot.lower()]
        if not others:
            return None  # a room the bot is opening: its customer is invited, not in yet
        if len(others) > 1:
            self._ignored.add(room_id)
            self.logger.info(
                "room %s has %d people besides the bot: not a direct room, ignored",
                room_id,
                len(others),
            )
            return None
        profile = _dict(members[others[0]])
        name = profile.get("display_name")
        return await self.rooms.add(room_id, others[0], name if isinstance(name, str) else "")

    async def _gap(self, room_id: str, start: str, until: str) -> list[Any]:
        """The events between the last sync token and the cut timeline, oldest first."""
        found: list[Any] = []
        token: str | None = start
        while token and len(found) < GAP_LIMIT:
            page = _dict(await self.api.messages(room_id, token, until, GAP_PAGE))
            chunk = _list(page.get("chunk"))
            if not chunk:
                break
            found.extend(chunk)
            end = page.get("end")
            token = end if isinstance(end, str) and end != token else None
        if len(found) >= GAP_LIMIT:
            self.logger.warning("room %s: more than %d events were missed", room_id, GAP_LIMIT)
        found.reverse()
        return found

    async def _event(self, room: Room, event: Any) -> None:
        if not isinstance(event, dict):
            return
        sender = str(event.get("sender") or "")
        event_id = event.get("event_id")
        stamp = event.get("origin_server_ts")
        at_ms = int(stamp) if isinstance(stamp, (int, float)) else 0
        if event.get("type") == "m.room.member":
            await self._member_change(room, event, in_timeline=True)
            return
        if sender.lower() == self.bot.lower():
            # Our own reply coming back: it settles a send whose answer was lost.
            txn = _dict(event.get("unsigned")).get("transaction_id")
            if isinstance(txn, str) and isinstance(event_id, str):
                await self.ledger.learn(txn, event_id)
                self.tracker.stamp(room.room_id, event_id, at_ms)
            return
        if sender.lower() != room.customer.lower():
            self.logger.debug("room %s: an event from %s, not the customer", room.room_id, sender)
            return
        said = read_event(event)
        if said is None:
            return
        self.tracker.saw(said.event_id, at_ms)
        attachments: tuple[InboundAttachment, ...] = ()
        text = said.text
        if said.media is not None:
            fetched = await self.media.fetch(said.event_id, said.media)
            attachments = (fetched.attachment,)
            if fetched.note:
                text = f"{text}\n{fetched.note}".strip()
        await self.context.emit(
            InboundMessage(
                identity=room.customer,
                text=text,
                external_id=said.event_id,
                customer_name=room.name,
                thread_ref=said.thread_ref,
                at=said.at,
                attachments=attachments,
                # Not ``attributes``: those describe the customer (their card
                # shows them); an edit's original is in ``thread_ref``.
            )
        )
        self.event_rooms[said.event_id] = room.room_id
        while len(self.event_rooms) > EVENT_ROOMS:
            self.event_rooms.popitem(last=False)
        await self.rooms.wrote_in(room)

    async def _member_change(self, room: Room, event: Any, *, in_timeline: bool) -> None:
        if not isinstance(event, dict) or event.get("type") != "m.room.member":
            return
        who = str(event.get("state_key") or "")
        membership = _membership(event)
        if who.lower() == room.customer.lower():
            if membership == "join":
                name = _display_name(event)
                if name:
                    await self.rooms.rename(room.room_id, name)
            elif membership in ("leave", "ban") and in_timeline:
                # The customer closed the conversation: the bot leaves too, and
                # a later reply opens a new room rather than writing to nobody.
                await self.rooms.forget(room.room_id)
                await self._quietly(self.api.leave(room.room_id), f"leaving room {room.room_id}")
                self.logger.info("%s left room %s; the bot left it", who, room.room_id)
        elif who.lower() == self.bot.lower() and membership in ("leave", "ban") and in_timeline:
            await self.rooms.forget(room.room_id)

    async def _ephemeral(self, room: Room, event: Any) -> None:
        if not isinstance(event, dict):
            return
        content = _dict(event.get("content"))
        customer = room.customer.lower()
        if event.get("type") == "m.typing":
            users = {str(u).lower() for u in _list(content.get("user_ids"))}
            typing = customer in users
            if self._typing.get(room.room_id, False) != typing:
                self._typing[room.room_id] = typing
                await self.context.emit(TypingSignal(room.customer, typing))
        elif event.get("type") == "m.receipt":
            for event_id, kinds in content.items():
                readers = {str(u).lower() for u in _dict(_dict(kinds).get("m.read"))}
                if customer in readers:
                    for key in await self.tracker.read_up_to(room.room_id, event_id):
                        await self.context.emit(DeliveryReceipt(key=key, state="read"))

    async def _quietly(self, call: Any, what: str) -> None:
        try:
            await call
        except MatrixError as exc:
            self.logger.warning("%s failed: %s", what, exc)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_member(event: Any, user_id: str) -> bool:
    return (
        isinstance(event, dict)
        and event.get("type") == "m.room.member"
        and str(event.get("state_key") or "").lower() == user_id.lower()
    )


def _membership(event: dict[str, Any]) -> str:
    return str(_dict(event.get("content")).get("membership") or "")


def _display_name(event: Any) -> str:
    name = _dict(event.get("content")).get("displayname") if isinstance(event, dict) else None
    return name if isinstance(name, str) else ""
