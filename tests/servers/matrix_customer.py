"""A customer's Matrix client, in plain HTTP against the test homeserver.

It does what a person does in their own client: logs in, opens a direct
room with the support bot (or joins one the bot opened), writes, sends a
file, edits and deletes a message, types, marks what it read, and reads the
bot's replies, typing and receipts off its own ``/sync``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

CLIENT = "/_matrix/client/v3"


def _p(value: str) -> str:
    return quote(value, safe="")


class Customer:
    def __init__(self, homeserver: str, user_id: str, token: str) -> None:
        self.homeserver = homeserver
        self.user_id = user_id
        self.client = httpx.AsyncClient(
            base_url=homeserver, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.since: str | None = None
        #: Every event this client's /sync has shown, per room: timeline and ephemeral.
        self.timeline: dict[str, list[dict[str, Any]]] = {}
        self.ephemeral: dict[str, list[dict[str, Any]]] = {}
        self.invites: list[str] = []

    @classmethod
    async def login(cls, homeserver: str, user_id: str, password: str) -> Customer:
        async with httpx.AsyncClient(base_url=homeserver, timeout=30) as client:
            answer = await client.post(
                f"{CLIENT}/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": user_id},
                    "password": password,
                },
            )
            answer.raise_for_status()
        return cls(homeserver, user_id, answer.json()["access_token"])

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        answer = await self.client.request(method, path, json=body, params=params or None)
        if answer.status_code >= 300:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    # -- rooms ---------------------------------------------------------------------

    async def open_direct(self, bot: str) -> str:
        """A private room with ``bot`` invited, flagged as a direct chat."""
        body = {"preset": "trusted_private_chat", "is_direct": True, "invite": [bot]}
        return str((await self.call("POST", f"{CLIENT}/createRoom", body))["room_id"])

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"{CLIENT}/rooms/{_p(room_id)}/join", {})

    async def leave(self, room_id: str) -> None:
        await self.call("POST", f"{CLIENT}/rooms/{_p(room_id)}/leave", {})

    async def members(self, room_id: str) -> set[str]:
        joined = await self.call("GET", f"{CLIENT}/rooms/{_p(room_id)}/joined_members")
        return set(joined["joined"])

    async def set_name(self, name: str) -> None:
        path = f"{CLIENT}/profile/{_p(self.user_id)}/displayname"
        await self.call("PUT", path, {"displayname": name})

    # -- writing -------------------------------------------------------------------

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        path = f"{CLIENT}/rooms/{_p(room_id)}/send/{kind}/{uuid.uuid4().hex}"
        return str((await self.call("PUT", path, content))["event_id"])

    async def say(self, room_id: str, text: str, msgtype: str = "m.text") -> str:
        return await self.send(room_id, {"msgtype": msgtype, "body": text})

    async def reply(self, room_id: str, event_id: str, text: str) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"> <@someone:localhost> earlier\n\n{text}",
            "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        }
        return await self.send(room_id, content)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"* {text}",
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send(room_id, content)

    async def redact(self, room_id: str, event_id: str) -> str:
        path = f"{CLIENT}/rooms/{_p(room_id)}/redact/{_p(event_id)}/{uuid.uuid4().hex}"
        return str((await self.call("PUT", path, {"reason": "typo"}))["event_id"])

    async def upload(self, data: bytes, content_type: str, name: str) -> str:
        answer = await self.client.post(
            "/_matrix/media/v3/upload",
            content=data,
            params={"filename": name},
            headers={"Content-Type": content_type},
        )
        answer.raise_for_status()
        return str(answer.json()["content_uri"])

    async def send_file(
        self, room_id: str, data: bytes, content_type: str, name: str, msgtype: str = "m.file"
    ) -> str:
        mxc = await self.upload(data, content_type, name)
        content = {
            "msgtype": msgtype,
            "body": name,
            "url": mxc,
            "info": {"mimetype": content_type, "size": len(data)},
        }
        return await self.send(room_id, content)

    async def typing(self, room_id: str, typing: bool) -> None:
        path = f"{CLIENT}/rooms/{_p(room_id)}/typing/{_p(self.user_id)}"
        await self.call(
            "PUT", path, {"typing": typing, "timeout": 30000} if typing else {"typing": False}
        )

    async def read(self, room_id: str, event_id: str) -> None:
        path = f"{CLIENT}/rooms/{_p(room_id)}/receipt/m.read/{_p(event_id)}"
        await self.call("POST", path, {})

    # -- reading -------------------------------------------------------------------

    async def messages(self, room_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The room's latest events, oldest first."""
        page = await self.call(
            "GET", f"{CLIENT}/rooms/{_p(room_id)}/messages", dir="b", limit=str(limit)
        )
        return list(reversed(page["chunk"]))

    async def texts_from(self, room_id: str, sender: str) -> list[str]:
        """Bodies of the messages ``sender`` posted in the room, oldest first."""
        return [
            e["content"].get("body", "")
            for e in await self.messages(room_id)
            if e.get("type") == "m.room.message" and e.get("sender") == sender
        ]

    async def sync_once(self, timeout_ms: int = 0) -> None:
        params = {"timeout": str(timeout_ms)}
        if self.since:
            params["since"] = self.since
        batch = await self.call("GET", f"{CLIENT}/sync", **params)
        self.since = batch["next_batch"]
        rooms = batch.get("rooms", {})
        for room_id, room in rooms.get("join", {}).items():
            self.timeline.setdefault(room_id, []).extend(room.get("timeline", {}).get("events", []))
            self.ephemeral.setdefault(room_id, []).extend(
                room.get("ephemeral", {}).get("events", [])
            )
        for room_id in rooms.get("invite", {}):
            if room_id not in self.invites:
                self.invites.append(room_id)

    async def wait_for(
        self, check: Callable[[Customer], Any], timeout: float = 15.0, what: str = ""
    ) -> Any:
        """Sync until ``check(self)`` returns something true; that value."""
        deadline = time.monotonic() + timeout
        while True:
            found = check(self)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"the customer's client never saw {what or check}; it saw "
                    f"{json.dumps(self.ephemeral)[-800:]}"
                )
            await self.sync_once(timeout_ms=int(min(left, 2) * 1000))
            await asyncio.sleep(0)

    def typing_users(self, room_id: str) -> list[set[str]]:
        """Each m.typing update this client saw in the room."""
        return [
            set(e["content"].get("user_ids", []))
            for e in self.ephemeral.get(room_id, [])
            if e.get("type") == "m.typing"
        ]

    def read_by(self, room_id: str, user_id: str) -> set[str]:
        """Event ids ``user_id`` has sent a public read receipt for."""
        found = set()
        for event in self.ephemeral.get(room_id, []):
            if event.get("type") != "m.receipt":
                continue
            for event_id, kinds in event["content"].items():
                if user_id in kinds.get("m.read", {}):
                    found.add(event_id)
        return found
