"""The two routes Twilio calls: an incoming message, and a reply's status.

Both accept only a request carrying Twilio's valid signature over the
desk's public URL of the route; anything else gets 403 and one log line
that never includes what was posted (a customer's number and words).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from .inbound import IncomingSms, StatusReport, WebhookProblem, parse_incoming, parse_status
from .signature import HEADER, is_valid

#: What tells Twilio "received, nothing to answer".
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
#: Far above any Twilio webhook (ten media links make a few kilobytes).
MAX_BODY = 64 * 1024


class Webhooks:
    """Starlette endpoints; ``public_url`` gives the desk's public base URL."""

    def __init__(
        self,
        *,
        auth_token: str,
        public_url: Callable[[], str | None],
        on_incoming: Callable[[IncomingSms], Awaitable[None]],
        on_status: Callable[[StatusReport], None],
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = auth_token
        self._public_url = public_url
        self._on_incoming = on_incoming
        self._on_status = on_status
        self._logger = logger
        self._clock = clock

    async def incoming(self, request: Any) -> Response:
        """The "A message comes in" webhook: answered with empty TwiML."""
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        try:
            sms = parse_incoming(form, self._clock())
        except WebhookProblem as exc:
            return self._bad(request, str(exc))
        await self._on_incoming(sms)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(self, request: Any) -> Response:
        """The status callback of a reply; ``?key=`` names the reply."""
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        try:
            report = parse_status(form, request.query_params.get("key"))
        except WebhookProblem as exc:
            return self._bad(request, str(exc))
        self._on_status(report)
        return Response(status_code=204)

    def signed_url(self, request: Any) -> str | None:
        """The URL Twilio signed: the desk's public URL, this path and query."""
        base = self._public_url()
        if base is None:
            return None
        path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
        url = base.rstrip("/") + path.decode("latin-1")
        query = request.scope.get("query_string") or b""
        return url + "?" + query.decode("latin-1") if query else url

    async def _verified(self, request: Any) -> dict[str, str] | Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return self._refuse(request, 413, "the request is too large")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return self._refuse(request, 413, "the request is too large")
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return self._refuse(request, 400, "the body is not form-encoded UTF-8")
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
            return self._refuse(request, 403, f"{problem}{hint}")
        return dict(pairs)

    def _refuse(self, request: Any, status: int, reason: str) -> Response:
        client = request.client.host if request.client else "?"
        # The form is never logged: it holds a customer's number and words.
        self._logger.warning(
            "refused %s %s from %s: %s", request.method, request.url.path, client, reason
        )
        return Response(reason.split(";")[0], status_code=status, media_type="text/plain")

    def _bad(self, request: Any, reason: str) -> Response:
        self._logger.warning("signed request to %s not understood: %s", request.url.path, reason)
        return Response(reason, status_code=400, media_type="text/plain")
