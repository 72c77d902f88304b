"""The HTTP JSON enricher: an in-house back office's customer endpoint.

One GET per look-up, to the configured URL with the customer's address put
in. A 200's JSON gives the fields through their paths; a 404 (or an answer
none of the paths finds anything in) means the back office does not know
the customer; anything else is ``LookupUnavailable``, in words that never
include the URL or a header (either may carry a credential).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any, ClassVar

import httpx

from agentdesk.plugin import Enricher, LookupUnavailable, Option, PluginContext

from .settings import OPTIONS, build_settings
from .values import text_of

#: The largest answer read: a customer record, not a data dump.
MAX_ANSWER = 1024 * 1024
TIMEOUT = "timeout"


class HttpJsonEnricher(Enricher):
    """Looks customers up with a GET to a back office that answers JSON."""

    plugin: ClassVar[str] = "http-json"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "an in-house back office's JSON endpoint, read by dotted paths"
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        """The fields the answer holds; None for a kind the URL does not take."""
        value = value.strip()
        url = self.settings.template.render(identity_kind, value) if value else None
        if url is None:
            return None
        try:
            async with asyncio.timeout(self.settings.timeout):
                answer = await self._get(url)
        except TimeoutError:
            raise LookupUnavailable(TIMEOUT) from None
        if answer is None:
            return None
        fields = {}
        for name, path in self.settings.fields:
            text = text_of(path.resolve(answer))
            if text is not None:
                fields[name] = text
        return fields or None

    async def _get(self, url: str) -> Any:
        """The parsed answer; None when the back office does not know the customer."""
        settings = self.settings
        async with self.context.http_client(
            headers={"Accept": "application/json", **settings.headers},
            timeout=httpx.Timeout(settings.timeout),
            # A redirect could carry the headers to another host.
            follow_redirects=False,
        ) as client:
            try:
                async with client.stream("GET", url) as response:
                    status = response.status_code
                    if status in (404, 204):
                        return None
                    if status != 200:
                        raise _refusal(response)
                    body = await _read(response)
            except httpx.TimeoutException:
                raise LookupUnavailable(TIMEOUT) from None
            except httpx.TransportError as exc:
                self.context.logger.info(
                    "the back office cannot be reached: %s", type(exc).__name__
                )
                raise LookupUnavailable("the back office cannot be reached") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise LookupUnavailable("the back office's answer is not JSON") from None


async def _read(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER:
        raise LookupUnavailable("the back office's answer is too large")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER:
            raise LookupUnavailable("the back office's answer is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(response: httpx.Response) -> LookupUnavailable:
    status = response.status_code
    if status in (401, 403):
        return LookupUnavailable(f"the back office refused our credentials ({status})")
    if status == 429:
        wait = _seconds(response.headers.get("retry-after"))
        return LookupUnavailable(
            f"rate limited, retry in {wait} s" if wait is not None else "rate limited"
        )
    return LookupUnavailable(f"the back office answered {status}")


def _seconds(header: str | None) -> int | None:
    """Whole seconds from a ``Retry-After`` given in seconds (a date is not worth reading here)."""
    try:
        seconds = float(header or "")
    except ValueError:
        return None
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) and seconds >= 0 else None
