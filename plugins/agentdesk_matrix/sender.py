"""Sending one reply, once per outbox key, into the customer's direct room
(opened first when the bot has none with them: a handoff into Matrix).

The outbox key is the request's transaction id, and the homeserver answers a
repeated transaction with the event the first one made: a retry after a
timeout or a crash posts nothing twice. Homeservers remember transaction ids
for a while only (Synapse: about half an hour), so the key is also written
in a ``DeliveryLedger`` before the request, with its event id after; a key
that began and never got its answer is looked for in the room (our own
events carry their transaction id back to us) before it is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Any

from agentdesk.plugin import (
    Delivery,
    DeliveryLedger,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

from .api import MatrixApi
from .failures import LoginProblem, MatrixError, delivery_error
from .login import BotLogin
from .receipts import ReadTracker
from .rooms import RoomBook
from .settings import USER_ID

#: Longest reply, in characters: a Matrix event is at most 65,536 bytes of
#: JSON, and this many of the widest characters still fit with room to spare.
MAX_TEXT = 12_000
MAX_EVENT_BYTES = 60_000
#: Own events looked through for a send whose answer never came.
LOOKBACK = 50


def check_reply(outbound: Outbound) -> str:
    """The user id to send to; PermanentDeliveryError when the reply cannot go."""
    to = outbound.to.strip()
    if not to:
        raise PermanentDeliveryError("the reply has no Matrix user to go to")
    if USER_ID.fullmatch(to) is None:
        raise PermanentDeliveryError(f"{to[:80]!r} is not a Matrix user id (like @ana:example.org)")
    if not outbound.text.strip():
        raise PermanentDeliveryError("the reply is empty")
    if len(outbound.text) > MAX_TEXT:
        raise PermanentDeliveryError(
            f"the reply is {len(outbound.text)} characters; a Matrix message takes at most "
            f"{MAX_TEXT:,}"
        )
    return to


class Sender:
    def __init__(
        self,
        api: MatrixApi,
        login: BotLogin,
        rooms: RoomBook,
        ledger: DeliveryLedger,
        tracker: ReadTracker,
        logger: logging.Logger,
    ) -> None:
        self.api = api
        self.login = login
        self.rooms = rooms
        self.ledger = ledger
        self.tracker = tracker
        self.logger = logger
        self._opening: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: dict[str, asyncio.Future[Delivery]] = {}

    async def send(self, outbound: Outbound) -> Delivery:
        to = check_reply(outbound)
        record = self.ledger.get(outbound.key)
        if record is not None and record.external_id is not None:
            return Delivery(external_id=record.external_id, detail="already sent")
        running = self._in_flight.get(outbound.key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._in_flight[outbound.key] = future
        try:
            delivery = await self._send_once(outbound, to, began=record is not None)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure nobody else awaited is not logged
            raise
        else:
            future.set_result(delivery)
            return delivery
        finally:
            del self._in_flight[outbound.key]

    async def _send_once(self, outbound: Outbound, to: str, *, began: bool) -> Delivery:
        what = f"the reply to {to}"
        content = {"msgtype": "m.text", "body": outbound.text}
        if len(json.dumps(content).encode()) > MAX_EVENT_BYTES:
            raise PermanentDeliveryError(f"{what} is too large for one Matrix event")
        try:
            await self.login.ensure(self.api)
            room_id = await self.room_for(to)
            if began:
                found = await self._find_earlier(room_id, outbound.key)
                if found is not None:
                    await self._done(room_id, outbound.key, found)
                    return Delivery(external_id=found, detail="had reached the homeserver")
            await self.ledger.begin(outbound.key)
            event_id = await self.api.send_message(room_id, outbound.key, content)
        except LoginProblem as exc:
            raise TemporaryDeliveryError(f"{what} waits: {exc}") from None
        except MatrixError as exc:
            if exc.bad_token:
                self.login.forget()
            if not exc.temporary or exc.status == 429:
                await self.ledger.forget(outbound.key)  # refused: nothing was made
            if exc.errcode == "M_FORBIDDEN" and (room := self.rooms.room_of(to)) is not None:
                await self.rooms.forget(room)
            raise delivery_error(exc, what) from None
        await self._done(room_id, outbound.key, event_id)
        return Delivery(external_id=event_id)

    async def _done(self, room_id: str, key: str, event_id: str) -> None:
        await self.ledger.done(key, event_id)
        await self.tracker.sent(room_id, event_id, key, int(time.time() * 1000))

    async def room_for(self, to: str) -> str:
        """The customer's direct room, opened (and the customer invited) when there is none."""
        room = self.rooms.room_of(to)
        if room is not None:
            return room
        async with self._opening[to.lower()]:
            room = self.rooms.room_of(to)
            if room is None:
                if not await self.api.user_exists(to):
                    raise PermanentDeliveryError(
                        f"there is no Matrix user {to} on their homeserver"
                    )
                room = await self.api.create_direct_room(to)
                await self.rooms.add(room, to)
                self.logger.info("opened direct room %s with %s", room, to)
        return room

    async def _find_earlier(self, room_id: str, key: str) -> str | None:
        """The event a send of ``key`` made, if the room shows one."""
        try:
            page = await self.api.messages(room_id, "", None, LOOKBACK)
        except MatrixError as exc:
            if exc.temporary:
                raise
            return None
        chunk = page.get("chunk") if isinstance(page, dict) else None
        for event in chunk if isinstance(chunk, list) else ():
            unsigned: Any = event.get("unsigned") if isinstance(event, dict) else None
            if isinstance(unsigned, dict) and unsigned.get("transaction_id") == key:
                event_id = event.get("event_id")
                if isinstance(event_id, str):
                    return event_id
        return None
