"""The channel's one route Meta calls: ``GET`` to verify the subscription,
``POST`` with each notification.

A POST is read as bytes (bounded) and its ``X-Hub-Signature-256`` checked
against them before anything parses them: a request without Meta's valid
signature is refused with one log line that never includes what was posted.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import PlainTextResponse, Response

from .events import Item, WebhookProblem, parse_notification
from .signature import HEADER, is_valid

#: Far above a notification Meta sends (it batches up to a few hundred kilobytes).
MAX_BODY = 3 * 1024 * 1024
#: Meta's challenge is a number; anything longer than this is not Meta's.
_MAX_CHALLENGE = 200


class Webhook:
    """The Starlette endpoint; ``on_items`` spools and queues what came."""

    def __init__(
        self,
        *,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        on_items: Callable[[list[Item]], Awaitable[None]],
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._phone_number_id = phone_number_id
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._on_items = on_items
        self._logger = logger
        self._clock = clock

    async def endpoint(self, request: Any) -> Response:
        if request.method == "GET":
            return self.verify(request)
        return await self.notify(request)

    def verify(self, request: Any) -> Response:
        """Meta's subscription check: echo ``hub.challenge`` when the token matches."""
        query = request.query_params
        mode = query.get("hub.mode", "")
        token = query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        if mode != "subscribe" or not hmac.compare_digest(
            token.encode("utf-8"), self._verify_token.encode("utf-8")
        ):
            why = "not a subscribe request" if mode != "subscribe" else "a wrong hub.verify_token"
            return self._refuse(request, 403, f"verification refused: {why}")
        if not challenge or len(challenge) > _MAX_CHALLENGE or not challenge.isprintable():
            return self._refuse(request, 400, "verification without a usable hub.challenge")
        self._logger.info("Meta verified the webhook %s", request.url.path)
        return PlainTextResponse(challenge)

    async def notify(self, request: Any) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return self._refuse(request, 413, "the request is too large")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                return self._refuse(request, 413, "the request is too large")
        body = bytes(raw)
        signature = request.headers.get(HEADER)
        if not signature:
            return self._refuse(request, 401, f"no {HEADER}")
        if not is_valid(self._app_secret, body, signature):
            return self._refuse(
                request,
                403,
                f"an invalid {HEADER}; is app_secret the App secret of the app "
                "whose webhook this is?",
            )
        try:
            payload = json.loads(body)
            found = parse_notification(payload, self._phone_number_id, self._clock())
        except (ValueError, WebhookProblem) as exc:
            reason = str(exc) if isinstance(exc, WebhookProblem) else "the body is not JSON"
            self._logger.warning(
                "signed request to %s not understood: %s", request.url.path, reason
            )
            return PlainTextResponse(reason, status_code=400)
        for skipped in found.skipped:
            self._logger.info("notification: left out %s", skipped)
        items: list[Item] = [*found.messages, *found.statuses]
        if items:
            try:
                await self._on_items(items)
            except OSError as exc:
                # Not kept, so not taken: Meta sends it again later.
                self._logger.error("a notification could not be spooled: %s", exc)
                return PlainTextResponse("cannot store it now", status_code=503)
        return PlainTextResponse("EVENT_RECEIVED")

    def _refuse(self, request: Any, status: int, reason: str) -> Response:
        client = request.client.host if request.client else "?"
        # Neither the body nor the query is logged: they hold a customer's words or a token.
        self._logger.warning(
            "refused %s %s from %s: %s", request.method, request.url.path, client, reason
        )
        return PlainTextResponse(reason.split(";")[0], status_code=status)
