"""The calls of the Matrix client-server API the channel makes, over httpx.

Every call sends the bot's access token in the ``Authorization`` header
(never in a URL, so no log line carries it) and turns a refusal or an
unreachable homeserver into ``MatrixError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx

from .failures import MatrixError

CLIENT = "/_matrix/client/v3"
#: Media downloads that need the token (spec v1.11); older servers only have the second.
AUTHENTICATED_MEDIA = "/_matrix/client/v1/media/download"
LEGACY_MEDIA = "/_matrix/media/v3/download"


def part(value: str) -> str:
    """One path segment: room ids (``!a:b``), event ids (``$x``) and txnIds escaped."""
    return quote(value, safe="")


class MatrixApi:
    def __init__(self, homeserver: str, client: httpx.AsyncClient) -> None:
        self.homeserver = homeserver
        self.client = client
        #: The bot's access token; set by ``BotLogin``.
        self.token = ""

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One request; its JSON on 2xx, else ``MatrixError``."""
        extra: dict[str, Any] = {} if timeout is None else {"timeout": httpx.Timeout(timeout)}
        try:
            response = await self.client.request(
                method,
                f"{self.homeserver}{path}",
                json=body,
                params=params,
                headers=self._headers(),
                **extra,
            )
        except httpx.HTTPError as exc:
            raise MatrixError.unreachable(exc) from exc
        if response.status_code >= 300:
            raise MatrixError.of(response)
        try:
            return response.json()
        except ValueError:
            raise MatrixError(response.status_code, "", "the answer is not JSON") from None

    # -- the account ---------------------------------------------------------------

    async def whoami(self) -> str:
        answer = await self.call("GET", f"{CLIENT}/account/whoami")
        return str(answer.get("user_id") or "") if isinstance(answer, dict) else ""

    async def login(
        self, user_id: str, password: str, device_id: str | None, device_name: str
    ) -> tuple[str, str]:
        """(access token, device id) of a password login; the same device when given."""
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "initial_device_display_name": device_name,
        }
        if device_id:
            body["device_id"] = device_id
        answer = await self.call("POST", f"{CLIENT}/login", body=body)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise MatrixError(200, "", "the login answer has no access token")
        return token, str(answer.get("device_id") or "")

    async def user_exists(self, user_id: str) -> bool:
        """False only when the homeserver says there is no such user; a server
        that keeps profiles private (or cannot be asked over federation) gets
        the benefit of the doubt."""
        try:
            await self.call("GET", f"{CLIENT}/profile/{part(user_id)}")
        except MatrixError as exc:
            # The spec's 404 for "no such user"; Synapse words it M_UNKNOWN.
            if exc.status == 404 and exc.errcode != "M_UNRECOGNIZED":
                return False
            if exc.temporary and exc.status == 0:
                raise
        return True

    async def set_display_name(self, user_id: str, name: str) -> None:
        path = f"{CLIENT}/profile/{part(user_id)}/displayname"
        current = await self.call("GET", path)
        if isinstance(current, dict) and current.get("displayname") == name:
            return
        await self.call("PUT", path, body={"displayname": name})

    # -- syncing -------------------------------------------------------------------

    async def sync(self, since: str | None, timeout_ms: int, filter_json: dict[str, Any]) -> Any:
        params = {"timeout": str(timeout_ms), "filter": json.dumps(filter_json)}
        if since:
            params["since"] = since
        # The homeserver holds the request up to timeout_ms: wait that long and more.
        return await self.call(
            "GET", f"{CLIENT}/sync", params=params, timeout=timeout_ms / 1000 + 15
        )

    async def messages(
        self, room_id: str, start: str, end: str | None, limit: int, direction: str = "b"
    ) -> Any:
        params = {"dir": direction, "limit": str(limit)}
        if start:  # without it, the latest events
            params["from"] = start
        if end:
            params["to"] = end
        return await self.call("GET", f"{CLIENT}/rooms/{part(room_id)}/messages", params=params)

    async def joined_members(self, room_id: str) -> dict[str, Any]:
        answer = await self.call("GET", f"{CLIENT}/rooms/{part(room_id)}/joined_members")
        joined = answer.get("joined") if isinstance(answer, dict) else None
        return joined if isinstance(joined, dict) else {}

    # -- rooms ---------------------------------------------------------------------

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"{CLIENT}/rooms/{part(room_id)}/join", body={})

    async def leave(self, room_id: str) -> None:
        """Leave a room, or decline an invite to it."""
        await self.call("POST", f"{CLIENT}/rooms/{part(room_id)}/leave", body={})

    async def create_direct_room(self, user_id: str) -> str:
        """A new private room with ``user_id`` invited, flagged as a direct chat."""
        body = {"preset": "trusted_private_chat", "is_direct": True, "invite": [user_id]}
        answer = await self.call("POST", f"{CLIENT}/createRoom", body=body)
        room = answer.get("room_id") if isinstance(answer, dict) else None
        if not isinstance(room, str) or not room:
            raise MatrixError(200, "", "the homeserver made a room but did not name it")
        return room

    # -- sending -------------------------------------------------------------------

    async def send_message(self, room_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send ``m.room.message``; its event id.

        The homeserver remembers each transaction id of a device and answers a
        repeated PUT with the event the first one made, so a retry with the
        same ``txn_id`` never posts the message twice.
        """
        path = f"{CLIENT}/rooms/{part(room_id)}/send/m.room.message/{part(txn_id)}"
        answer = await self.call("PUT", path, body=content)
        event = answer.get("event_id") if isinstance(answer, dict) else None
        if not isinstance(event, str) or not event:
            raise MatrixError(200, "", "the homeserver took the message but gave no event id")
        return event

    async def typing(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        body: dict[str, Any] = {"typing": typing}
        if typing:
            body["timeout"] = timeout_ms
        path = f"{CLIENT}/rooms/{part(room_id)}/typing/{part(user_id)}"
        await self.call("PUT", path, body=body)

    async def receipt(self, room_id: str, event_id: str) -> None:
        path = f"{CLIENT}/rooms/{part(room_id)}/receipt/m.read/{part(event_id)}"
        await self.call("POST", path, body={})

    # -- media ---------------------------------------------------------------------

    @asynccontextmanager
    async def download(self, server: str, media_id: str) -> AsyncIterator[httpx.Response]:
        """A streamed download of ``mxc://server/media_id``; ``MatrixError`` unless 200."""
        response: httpx.Response | None = None
        try:
            for base in (AUTHENTICATED_MEDIA, LEGACY_MEDIA):
                url = f"{self.homeserver}{base}/{part(server)}/{part(media_id)}"
                request = self.client.build_request("GET", url, headers=self._headers())
                response = await self.client.send(request, stream=True, follow_redirects=True)
                if response.status_code == 200:
                    break
                await response.aread()
                error = MatrixError.of(response)
                await response.aclose()
                response = None
                # A server before authenticated media does not know the first path.
                if base == AUTHENTICATED_MEDIA and error.errcode == "M_UNRECOGNIZED":
                    continue
                raise error
            if response is None:
                raise MatrixError(404, "M_NOT_FOUND", "the homeserver has no such file")
            yield response
        except httpx.HTTPError as exc:
            raise MatrixError.unreachable(exc) from exc
        finally:
            if response is not None:
                await response.aclose()
