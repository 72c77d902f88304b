"""The routes Twilio calls about a call, each read through ``SignedRequests``.

Three answer with TwiML, because Twilio waits for the next instructions:
the incoming call (the number's Voice URL), the end of a Dial, and the end
of a recording. The other three are callbacks answered with 204: the call's
status changes, the recording's status and the transcription. Every one is
spooled and queued for the receiver before it is answered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ..guard import SignedRequests
from ..inbound import WebhookProblem
from . import twiml
from .events import (
    DIALED,
    INCOMING,
    RECORDED,
    RECORDING,
    STATUS,
    TRANSCRIPTION,
    CallEvent,
    parse,
)
from .outcome import PICKED_UP
from .settings import VoiceSettings


@dataclass(frozen=True, slots=True)
class VoicePaths:
    """The full paths of the channel's routes (``/channels/<name>/voice``...)."""

    voice: str = ""
    status: str = ""
    dialed: str = ""
    recorded: str = ""
    recording: str = ""
    transcription: str = ""


class VoiceWebhooks:
    def __init__(
        self,
        *,
        settings: VoiceSettings,
        public_url: Callable[[], str | None],
        on_event: Callable[[CallEvent], Awaitable[None]],
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        #: Known once ``register`` has put the routes on the desk's server.
        self.paths = VoicePaths()
        self._public_url = public_url
        self._on_event = on_event
        self._clock = clock
        self._signed = SignedRequests(
            auth_token=settings.account.auth_token, public_url=public_url, logger=logger
        )

    def register(self, add_route: Callable[..., str]) -> VoicePaths:
        """Serve the routes (with the context's ``add_route``); returns their full paths."""
        post = ("POST",)
        self.paths = VoicePaths(
            voice=add_route("/voice", self.incoming, methods=post),
            status=add_route("/status", self.status, methods=post),
            dialed=add_route("/dialed", self.dialed, methods=post),
            recorded=add_route("/recorded", self.recorded, methods=post),
            recording=add_route("/recording", self.recording, methods=post),
            transcription=add_route("/transcription", self.transcription, methods=post),
        )
        return self.paths

    # -- URLs we give Twilio --------------------------------------------------------

    def url(self, path: str, **query: str) -> str:
        """The public URL of a route; relative when the desk has none (Twilio then
        resolves it against the URL it just requested)."""
        url = (self._public_url() or "").rstrip("/") + path
        return f"{url}?{urlencode(query)}" if query else url

    def voicemail_urls(self) -> twiml.VoicemailUrls:
        return twiml.VoicemailUrls(
            recorded=self.url(self.paths.recorded),
            recording=self.url(self.paths.recording),
            transcription=self.url(self.paths.transcription),
        )

    def call_back_query(self, customer: str) -> dict[str, str]:
        """What a call back's URLs carry: our own words, signed by Twilio with the rest."""
        return {"direction": "outbound", "customer": customer}

    # -- the routes -------------------------------------------------------------------

    async def incoming(self, request: Any) -> Response:
        """The number's Voice URL: greet, then put through or take a message."""
        event = await self._event(request, INCOMING)
        if isinstance(event, Response):
            return event
        settings = self._settings
        if settings.forward_to:
            event = replace(event, route="forward", agent=settings.forward_to)
            answer = twiml.forward(settings, self.url(self.paths.dialed))
        else:
            event = replace(event, route="voicemail")
            answer = twiml.voicemail(settings, self.voicemail_urls(), greet=True)
        await self._on_event(event)
        return _twiml(answer)

    async def dialed(self, request: Any) -> Response:
        """The end of a Dial: nobody picked up? Then the caller may leave a message."""
        event = await self._event(request, DIALED)
        if isinstance(event, Response):
            return event
        answer = twiml.hangup()
        take_message = (
            event.direction == "inbound"
            and self._settings.voicemail
            # "canceled": the caller hung up while it rang; nobody is left to record.
            and event.status not in PICKED_UP | {"canceled"}
        )
        if take_message:
            event = replace(event, route="voicemail")
            answer = twiml.voicemail(self._settings, self.voicemail_urls(), greet=False)
        else:
            event = replace(event, hangs_up=True)
        await self._on_event(event)
        return _twiml(answer)

    async def recorded(self, request: Any) -> Response:
        """The Record's action: the message is left; end the call."""
        event = await self._event(request, RECORDED)
        if isinstance(event, Response):
            return event
        await self._on_event(replace(event, hangs_up=True))
        return _twiml(twiml.hangup())

    async def status(self, request: Any) -> Response:
        return await self._callback(request, STATUS, Response(status_code=204))

    async def recording(self, request: Any) -> Response:
        return await self._callback(request, RECORDING, Response(status_code=204))

    async def transcription(self, request: Any) -> Response:
        return await self._callback(request, TRANSCRIPTION, Response(status_code=204))

    # -- inside -------------------------------------------------------------------------

    async def _callback(self, request: Any, kind: str, answer: Response) -> Response:
        event = await self._event(request, kind)
        if isinstance(event, Response):
            return event
        await self._on_event(event)
        return answer

    async def _event(self, request: Any, kind: str) -> CallEvent | Response:
        form = await self._signed.form(request)
        if isinstance(form, Response):
            return form
        try:
            return parse(kind, form, dict(request.query_params), self._clock())
        except WebhookProblem as exc:
            return self._signed.bad(request, str(exc))


def _twiml(document: str) -> Response:
    return Response(document, media_type="text/xml")
