"""The calls of Meta's Graph API the channel makes, with the bearer token:
send a message, mark one read, look up the business number, fetch media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from agentdesk.plugin import TemporaryDeliveryError, is_loopback

from .failures import GraphError, delivery_error, read_error
from .settings import WhatsAppSettings


class AmbiguousSend(TemporaryDeliveryError):
    """The request may have reached Meta but no answer came back: the message may
    exist, so the retry first waits for its status (see ``sender``)."""


class Unreachable(TemporaryDeliveryError):
    """Nothing reached Meta (no connection): trying again is safe."""


class GraphApi:
    """One business number's calls; failures become typed errors."""

    def __init__(self, settings: WhatsAppSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.messages_url = settings.url(f"{quote(settings.phone_number_id, safe='')}/messages")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    async def post_message(self, payload: dict[str, Any], *, to: str) -> Any:
        """POST to ``/{phone_number_id}/messages``; Meta's JSON on 200.

        Raises ``Unreachable`` when nothing reached Meta, ``AmbiguousSend``
        when it may have, and the mapped typed error of a refusal.
        """
        try:
            response = await self.client.post(
                self.messages_url, json=payload, headers=self.headers()
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unreachable(f"WhatsApp's API cannot be reached: {reason(exc)}") from exc
        except httpx.TransportError as exc:
            raise AmbiguousSend(f"WhatsApp's API did not answer in time ({reason(exc)})") from exc
        if response.status_code == 200:
            return json_of(response)
        raise delivery_error(self.error_of(response), to)

    async def phone_number(self) -> dict[str, Any] | GraphError:
        """The business number as Meta describes it, or Meta's refusal."""
        url = self.settings.url(quote(self.settings.phone_number_id, safe=""))
        response = await self.client.get(
            url,
            params={"fields": "display_phone_number,verified_name"},
            headers=self.headers(),
        )
        body = json_of(response)
        if response.status_code == 200 and isinstance(body, dict):
            return body
        return read_error(response.status_code, body)

    async def media_info(self, media_id: str) -> dict[str, Any] | GraphError:
        """A media's download URL, type and size (``GET /{media-id}``)."""
        response = await self.client.get(
            self.settings.url(quote(media_id, safe="")),
            params={"phone_number_id": self.settings.phone_number_id},
            headers=self.headers(),
        )
        body = json_of(response)
        if response.status_code == 200 and isinstance(body, dict):
            return body
        return read_error(response.status_code, body)

    @asynccontextmanager
    async def download(self, url: str) -> AsyncIterator[httpx.Response]:
        """Stream a media URL Meta gave; the token goes with it only over https
        (or to a loopback test server)."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and is_loopback(parts.hostname or "")
        ):
            raise ValueError("the media URL is not https")
        async with self.client.stream(
            "GET", url, headers=self.headers(), timeout=self.settings.timeout * 3
        ) as response:
            yield response

    def error_of(self, response: httpx.Response) -> GraphError:
        return read_error(response.status_code, json_of(response))


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
