"""The SMS channel's two routes Twilio calls: an incoming message, and a reply's status.

Both read the request through ``SignedRequests`` (see ``guard``): only a
request carrying Twilio's valid signature is accepted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from .guard import MAX_BODY, SignedRequests
from .inbound import IncomingSms, StatusReport, WebhookProblem, parse_incoming, parse_status

__all__ = ["EMPTY_TWIML", "MAX_BODY", "Webhooks"]

#: What tells Twilio "received, nothing to answer".
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


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
        self._signed = SignedRequests(auth_token=auth_token, public_url=public_url, logger=logger)
        self._on_incoming = on_incoming
        self._on_status = on_status
        self._clock = clock

    async def incoming(self, request: Any) -> Response:
        """The "A message comes in" webhook: answered with empty TwiML."""
        form = await self._signed.form(request)
        if isinstance(form, Response):
            return form
        try:
            sms = parse_incoming(form, self._clock())
        except WebhookProblem as exc:
            return self._signed.bad(request, str(exc))
        await self._on_incoming(sms)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(self, request: Any) -> Response:
        """The status callback of a reply; ``?key=`` names the reply."""
        form = await self._signed.form(request)
        if isinstance(form, Response):
            return form
        try:
            report = parse_status(form, request.query_params.get("key"))
        except WebhookProblem as exc:
            return self._signed.bad(request, str(exc))
        self._on_status(report)
        return Response(status_code=204)

    def signed_url(self, request: Any) -> str | None:
        """The URL Twilio signed: the desk's public URL, this path and query."""
        return self._signed.signed_url(request)
