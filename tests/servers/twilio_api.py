"""A local stand-in for Twilio, for tests: the REST API on 127.0.0.1 and the
webhooks Twilio sends.

It follows Twilio's published API: ``POST /2010-04-01/Accounts/{sid}/Messages.json``
takes form-encoded fields behind HTTP Basic auth (the account SID and Auth
Token, or an API key SID and secret) and answers 201 with the message
resource, or an error ``{"code", "message", "more_info", "status"}``;
``GET`` on the same path lists messages, newest first; media links redirect
to a file server. ``send_inbound`` and ``send_status`` post to a channel's
routes exactly as Twilio does, signed with ``X-Twilio-Signature``.

For voice, ``POST .../Calls.json`` places a call (To, From, Twiml or Url,
StatusCallback and its events are checked) and answers 201 with the call
resource; ``incoming_call`` and ``play`` give a ``CallPlayer``
(``twilio_calls``) that drives a call's webhooks at the channel.

Every API request is recorded. A test can make the next requests fail with
given codes (``fail_next``), or answer late (``stall_next``), and count how
many times a reply was sent (``count``, by the outbox key the channel puts
in the StatusCallback URL).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from agentdesk.plugin.serving import EmbeddedServer

from .twilio_calls import CALL_EVENTS, CallPlayer, FakeCall, new_sid

ACCOUNT_SID = "AC" + "5ef8732a3c49700934481addd5ce1659"
AUTH_TOKEN = "12345678901234567890123456789012"
API_KEY_SID = "SK" + "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
API_KEY_SECRET = "key-secret-for-tests"
#: The channel's number at the fake Twilio.
NUMBER = "+15017122661"
SERVICE_SID = "MG" + "9752274e9e519418a7406176694466fa"
API_VERSION = "2010-04-01"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_STOP = {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
_START = {"START", "YES", "UNSTOP"}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature, from its documented recipe: HMAC-SHA1 of the URL
    followed by each parameter's name and value in name order, in base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    user: str | None
    content_type: str
    #: The form as posted, a name possibly repeated (StatusCallbackEvent).
    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FakeMessage:
    """A message the fake made for a create request."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    created: float
    status: str = "queued"

    @property
    def key(self) -> str | None:
        """The outbox key the channel put in the StatusCallback URL."""
        if not self.status_callback:
            return None
        keys = parse_qs(urlsplit(self.status_callback).query).get("key")
        return keys[0] if keys else None

    def resource(self, account_sid: str) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{self.sid}"
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": email.utils.formatdate(self.created, usegmt=False),
            "date_sent": None,
            "date_updated": email.utils.formatdate(self.created, usegmt=False),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass
class Failure:
    status: int
    code: int | None
    message: str
    retry_after: str | None = None


@dataclass
class _Stall:
    seconds: float
    after_create: bool


class FakeTwilio:
    """``async with FakeTwilio() as twilio:`` serves the API at ``twilio.url``."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        api_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys = dict(api_keys if api_keys is not None else {API_KEY_SID: API_KEY_SECRET})
        self.requests: list[RecordedRequest] = []
        self.messages: list[FakeMessage] = []
        self.calls: list[FakeCall] = []
        #: The account's numbers: a call may only come from one of them (else 21210).
        self.numbers: set[str] = {NUMBER}
        #: Numbers that texted STOP: a send to them is error 21610, as at Twilio.
        self.opted_out: set[str] = set()
        #: Media files by MediaSid: (content type, bytes).
        self.media: dict[str, tuple[str, bytes]] = {}
        #: Whether media links want the account's login (Twilio's "HTTP auth for media").
        self.media_auth = True
        self._failures: deque[Failure] = deque()
        self._stalls: deque[_Stall] = deque()
        base = f"/{API_VERSION}/Accounts/{{account}}"
        self._server = EmbeddedServer(
            "127.0.0.1",
            0,
            routes=[
                Route(f"{base}/Messages.json", self._create, methods=["POST"]),
                Route(f"{base}/Messages.json", self._list, methods=["GET"]),
                Route(f"{base}/Calls.json", self._create_call, methods=["POST"]),
                Route(f"{base}/Messages/{{message}}/Media/{{media}}", self._media_link),
                Route("/cdn/{media}", self._media_file),
            ],
        )

    async def __aenter__(self) -> FakeTwilio:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def url(self) -> str:
        return self._server.base_url or ""

    # -- telling it what to do ------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: int | None = None,
        message: str = "",
        *,
        retry_after: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` API requests with this error, as Twilio words it."""
        for _ in range(times):
            self._failures.append(Failure(status, code, message, retry_after))

    def stall_next(self, seconds: float, *, after_create: bool = True) -> None:
        """Make the next create (of a message or a call) wait ``seconds`` before
        answering: after making it (the client times out though Twilio has it) or
        before (it never does)."""
        self._stalls.append(_Stall(seconds, after_create))

    def count(self, key: str) -> int:
        """How many messages were made for the reply with this outbox key."""
        return sum(1 for message in self.messages if message.key == key)

    def creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("Messages.json")]

    def call_creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("Calls.json")]

    def incoming_call(
        self, caller: str, *, status_url: str | None, to: str = NUMBER, signature: str | None = ""
    ) -> CallPlayer:
        """A customer calls the number; ``status_url`` is the number's "Call status
        changes" URL (None: not configured)."""
        return CallPlayer(self, caller, to, status_url, signature=signature)

    def play(self, call: FakeCall) -> CallPlayer:
        """The call back the Calls API placed, as Twilio then runs it."""
        player = CallPlayer(
            self,
            call.from_,
            call.to,
            call.status_callback,
            sid=call.sid,
            direction="outbound-api",
            status_events=tuple(call.status_events),
        )
        if call.twiml:
            player.twiml = ET.fromstring(call.twiml)
            player.verbs.update({verb.tag: verb for verb in player.twiml})
        return player

    def add_media(self, message_sid: str, content_type: str, data: bytes) -> str:
        """Serve a media file; returns its link as an inbound webhook gives it."""
        media_sid = new_sid("ME")
        self.media[media_sid] = (content_type, data)
        message = f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}"
        return f"{message}/Media/{media_sid}"

    # -- what Twilio sends to the channel ---------------------------------------------

    async def send_inbound(
        self,
        post_url: str,
        *,
        sender: str,
        body: str,
        to: str = NUMBER,
        sid: str | None = None,
        media: Sequence[tuple[str, str]] = (),
        signed_url: str | None = None,
        signature: str | None = "",
        extra: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Post an incoming message to ``post_url`` as Twilio does.

        ``media`` holds (link, content type) pairs; ``signed_url`` is the URL
        Twilio was configured with, when the channel is behind a proxy;
        ``signature`` overrides the real one (None sends none); ``extra`` adds
        fields (an ``OptOutType`` for a keyword set up in Twilio's console).
        """
        sid = sid or new_sid("MM" if media else "SM")
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ToCity": "SAN FRANCISCO",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "FR",
            "To": to,
            "ToZip": "94105",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "ApiVersion": API_VERSION,
        }
        for index, (link, content_type) in enumerate(media):
            params[f"MediaContentType{index}"] = content_type
            params[f"MediaUrl{index}"] = link
        word = body.strip().upper()
        if word in _STOP or word in _START:
            # Twilio's Advanced Opt-Out tells the webhook what the keyword did.
            params["OptOutType"] = "STOP" if word in _STOP else "START"
            (self.opted_out.add if word in _STOP else self.opted_out.discard)(sender)
        params.update(extra or {})
        return await self._post(post_url, params, signed_url, signature)

    async def send_status(
        self,
        message: FakeMessage,
        status: str,
        *,
        error_code: str | None = None,
        signed_url: str | None = None,
        signature: str | None = "",
    ) -> httpx.Response:
        """Post a status callback for ``message`` to the URL the channel gave."""
        assert message.status_callback, "the message was sent without a StatusCallback"
        message.status = status
        params = {
            "SmsSid": message.sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": message.to,
            "MessageSid": message.sid,
            "AccountSid": self.account_sid,
            "From": message.from_ or NUMBER,
            "ApiVersion": API_VERSION,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = error_code
        return await self._post(message.status_callback, params, signed_url, signature)

    async def _post(
        self, url: str, params: dict[str, str], signed_url: str | None, signature: str | None
    ) -> httpx.Response:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        if signature == "":
            signature = twilio_signature(self.auth_token, signed_url or url, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, data=params, headers=headers)

    # -- the API ------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        form = dict(pairs)
        auth = request.headers.get("authorization", "")
        user = None
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().partition(":")[0]
        recorded = RecordedRequest(
            request.method,
            request.url.path,
            dict(request.query_params),
            form,
            user,
            request.headers.get("content-type", ""),
            pairs,
        )
        self.requests.append(recorded)
        return recorded

    def _refusal(self, request: Request) -> Response | None:
        """Twilio's answer when the login or the account is wrong, or a failure is due."""
        auth = request.headers.get("authorization", "")
        user, password = "", ""
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        allowed = (user == self.account_sid and password == self.auth_token) or (
            user in self.api_keys and self.api_keys[user] == password
        )
        if not allowed:
            return _error(401, 20003, "Authenticate")
        if request.path_params["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if self._failures:
            failure = self._failures.popleft()
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return _error(failure.status, failure.code, failure.message, headers)
        return None

    async def _create(self, request: Request) -> Response:
        recorded = await self._record(request)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = recorded.form
        to, sender = form.get("To", ""), form.get("From")
        service = form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if not _E164.fullmatch(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if len(form.get("Body", "")) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 limit.")
        callback = form.get("StatusCallback")
        if callback is not None and urlsplit(callback).scheme not in ("http", "https"):
            return _error(400, 21609, "Invalid StatusCallback url")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        stall = self._stalls.popleft() if self._stalls else None
        if stall is not None and not stall.after_create:
            await asyncio.sleep(stall.seconds)
            # A client that gave up has gone: Twilio would not have made it either.
            if await request.is_disconnected():
                return Response(status_code=499)
        message = FakeMessage(
            new_sid("SM"),
            to,
            sender,
            service,
            form.get("Body", ""),
            callback,
            time.time(),
            "accepted" if service else "queued",
        )
        self.messages.append(message)
        if stall is not None and stall.after_create:
            await asyncio.sleep(stall.seconds)
        return JSONResponse(message.resource(self.account_sid), status_code=201)

    async def _create_call(self, request: Request) -> Response:
        recorded = await self._record(request)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = recorded.form
        to, sender = form.get("To", ""), form.get("From", "")
        twiml, url = form.get("Twiml"), form.get("Url")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not sender:
            return _error(400, 21213, "Caller phone number is required")
        if not _E164.fullmatch(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if sender not in self.numbers:
            return _error(
                400, 21210, f"The source phone number provided, {sender}, is not yet verified"
            )
        if not twiml and not url:
            return _error(400, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' is required.")
        if twiml is not None:
            if len(twiml) > 4000:
                return _error(400, 21232, "Twiml is too long (4000 characters at most)")
            try:
                root = ET.fromstring(twiml)
            except ET.ParseError:
                return _error(400, 12100, "Document parse failure")
            if root.tag != "Response":
                return _error(400, 12100, "The root element must be Response")
        callback = form.get("StatusCallback")
        if callback is not None and urlsplit(callback).scheme not in ("http", "https"):
            return _error(400, 21609, "Invalid StatusCallback url")
        events = [value for name, value in recorded.pairs if name == "StatusCallbackEvent"]
        if any(event not in CALL_EVENTS for event in events):
            return _error(400, None, "StatusCallbackEvent must be initiated, ringing, ...")
        if form.get("StatusCallbackMethod", "POST") not in ("GET", "POST"):
            return _error(400, None, "StatusCallbackMethod must be GET or POST")
        stall = self._stalls.popleft() if self._stalls else None
        if stall is not None and not stall.after_create:
            await asyncio.sleep(stall.seconds)
            if await request.is_disconnected():
                return Response(status_code=499)
        call = FakeCall(
            sid=new_sid("CA"),
            to=to,
            from_=sender,
            twiml=twiml,
            url=url,
            status_callback=callback,
            # Without StatusCallbackEvent, Twilio reports the end of the call only.
            status_events=events or ["completed"],
            timeout=int(form.get("Timeout", "60")),
            created=time.time(),
        )
        self.calls.append(call)
        if stall is not None and stall.after_create:
            await asyncio.sleep(stall.seconds)
        return JSONResponse(call.resource(self.account_sid), status_code=201)

    async def _list(self, request: Request) -> Response:
        recorded = await self._record(request)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        query = recorded.query
        found = [
            m
            for m in reversed(self.messages)
            if m.to == query.get("To", m.to) and (m.from_ or "") == query.get("From", m.from_ or "")
        ]
        size = int(query.get("PageSize", "50"))
        page = [m.resource(self.account_sid) for m in found[:size]]
        uri = f"{request.url.path}?PageSize={size}&Page=0"
        # The paging fields a client may read; a short list has no next page.
        return JSONResponse(
            {"messages": page, "page": 0, "page_size": size, "next_page_uri": None, "uri": uri}
        )

    async def _media_link(self, request: Request) -> Response:
        await self._record(request)
        if self.media_auth:
            refused = self._refusal(request)
            if refused is not None:
                return refused
        media_sid = request.path_params["media"]
        if media_sid not in self.media:
            return _error(404, 20404, "The requested resource was not found")
        # Twilio answers a media link with a redirect to its content store.
        return RedirectResponse(f"{self.url}/cdn/{media_sid}", status_code=307)

    async def _media_file(self, request: Request) -> Response:
        found = self.media.get(request.path_params["media"])
        if found is None:
            return Response("not found", status_code=404)
        return Response(found[1], media_type=found[0])


def _error(
    status: int, code: int | None, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if code is not None:
        body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
