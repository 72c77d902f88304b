"""Reading a request Twilio made to one of the channel's routes: accepted only
with Twilio's valid signature over the desk's public URL of the route.

Anything else gets 403 and one log line that never includes what was posted
(a customer's number, their words). Both channels of this package read
every webhook through ``SignedRequests``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.responses import Response

from agentdesk.plugin import is_loopback

from .signature import HEADER, is_valid

#: Far above any Twilio webhook (ten media links make a few kilobytes).
MAX_BODY = 64 * 1024


class SignedRequests:
    """Checks and reads Twilio's form posts; ``public_url`` gives the desk's base URL."""

    def __init__(
        self, *, auth_token: str, public_url: Callable[[], str | None], logger: logging.Logger
    ) -> None:
        self._token = auth_token
        self._public_url = public_url
        self._logger = logger

    def signed_url(self, request: Any) -> str | None:
        """The URL Twilio signed: the desk's public URL, this path and query."""
        base = self._public_url()
        if base is None:
            return None
        path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
        url = base.rstrip("/") + path.decode("latin-1")
        query = request.scope.get("query_string") or b""
        return url + "?" + query.decode("latin-1") if query else url

    async def form(self, request: Any) -> dict[str, str] | Response:
        """The posted fields when Twilio signed them, else the refusal to answer with."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return self.refuse(request, 413, "the request is too large")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return self.refuse(request, 413, "the request is too large")
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return self.refuse(request, 400, "the body is not form-encoded UTF-8")
        url = self.signed_url(request)
        signature = request.headers.get(HEADER)
        if url is None or not is_valid(self._token, url, pairs, signature):
            problem = "no X-Twilio-Signature" if not signature else "an invalid X-Twilio-Signature"
            hint = (
                f"; Twilio signs the URL set in its console, here expected to be {url}"
                " (is the desk's [http] public_url that URL?)"
                if url and signature
                else ""
            )
            return self.refuse(request, 403, f"{problem}{hint}")
        return dict(pairs)

    def refuse(self, request: Any, status: int, reason: str) -> Response:
        client = request.client.host if request.client else "?"
        # The form is never logged: it holds a customer's number and words.
        self._logger.warning(
            "refused %s %s from %s: %s", request.method, request.url.path, client, reason
        )
        return Response(reason.split(";")[0], status_code=status, media_type="text/plain")

    def bad(self, request: Any, reason: str) -> Response:
        """A signed request that is not what the route expects."""
        self._logger.warning("signed request to %s not understood: %s", request.url.path, reason)
        return Response(reason, status_code=400, media_type="text/plain")


def webhook_detail(base: str | None, path: str, logger: logging.Logger) -> str:
    """The health line naming the URL Twilio must call, warning when it cannot."""
    if base is None:
        return "the desk's HTTP server is not running: Twilio cannot reach the webhook"
    url = base + path
    host = urlsplit(base).hostname or ""
    if is_loopback(host):
        logger.warning("the webhook is %s, which Twilio cannot reach: set [http] public_url", url)
        return f"webhook {url} (loopback: set [http] public_url for Twilio)"
    return f"webhook {url}"
