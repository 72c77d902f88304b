"""A local stand-in for Meta's WhatsApp Cloud API, for tests: the Graph API on
127.0.0.1 and the webhooks Meta sends.

It follows the published API: ``POST /{version}/{phone-number-id}/messages``
takes JSON behind ``Authorization: Bearer <token>`` and answers
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages":
[{"id": "wamid..."}]}``, or marks a message read (``"status": "read"``,
answered ``{"success": true}``); ``GET /{version}/{phone-number-id}``
describes the number; ``GET /{version}/{media-id}`` names a download URL,
which serves the bytes to the same bearer only. Refusals are Graph errors
``{"error": {"message", "type", "code", "error_data": {"details"},
"fbtrace_id"}}``.

Every API request is recorded. A test can make the next requests fail with
given codes and HTTP statuses (``fail_next``) or answer late
(``stall_next``), approve templates, and count how many messages went out
for a reply (``count``, by the key the channel puts in
``biz_opaque_callback_data``). ``post`` and the message builders send
notifications to a channel's webhook as Meta does, signed with
``X-Hub-Signature-256``; ``status`` builds the statuses of a sent message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentdesk.plugin.serving import EmbeddedServer

PHONE_NUMBER_ID = "106540352242922"
BUSINESS_NUMBER = "15550783881"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBA-test-token"
APP_SECRET = "7b6e6a3c0f2d4e5a9b8c1d2e3f4a5b6c"
VERIFY_TOKEN = "meatball-tuesday"
API_VERSION = "v21.0"
WABA_ID = "102290129340398"
_VERSION = re.compile(r"v[0-9]+\.[0-9]+")
_DIGITS = re.compile(r"[0-9]{7,15}")
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def meta_signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as Meta documents it: sha256= and the hex HMAC of the body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def new_wamid() -> str:
    # Real wamids are base64 and hold "+", "/" and "=": so do these.
    raw = b"\xfb\xff" + uuid.uuid4().bytes + b"\x01"
    return "wamid." + base64.b64encode(raw).decode()


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    bearer: str | None


@dataclass
class SentMessage:
    """A message the fake took for a send request."""

    wamid: str
    to: str
    type: str
    body: dict[str, Any]

    @property
    def key(self) -> str | None:
        found = self.body.get("biz_opaque_callback_data")
        return found if isinstance(found, str) else None

    @property
    def text(self) -> str:
        return str(self.body.get("text", {}).get("body", ""))


@dataclass
class Failure:
    status: int
    code: int | None
    message: str
    details: str = ""


@dataclass
class _Stall:
    seconds: float
    after_create: bool


@dataclass
class FakeCloudApi:
    """``async with FakeCloudApi() as meta:`` serves the Graph API at ``meta.url``."""

    access_token: str = ACCESS_TOKEN
    app_secret: str = APP_SECRET
    phone_number_id: str = PHONE_NUMBER_ID
    requests: list[RecordedRequest] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    #: Message ids marked read, in order.
    reads: list[str] = field(default_factory=list)
    #: Media by id: (MIME type, bytes).
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: Approved templates: (name, language) -> number of body parameters.
    approved: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Whether Meta tells the size before the bytes: in the media's description
    #: (``file_size``) and in the download's Content-Length.
    tells_size: bool = True

    def __post_init__(self) -> None:
        self._failures: deque[Failure] = deque()
        self._stalls: deque[_Stall] = deque()
        self._downloads: dict[str, str] = {}
        self._server = EmbeddedServer(
            "127.0.0.1",
            0,
            routes=[
                Route("/{version}/{number}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{node}", self._node, methods=["GET"]),
                Route("/whatsapp_business/attachments/{token}", self._download),
            ],
        )

    async def __aenter__(self) -> FakeCloudApi:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def url(self) -> str:
        return self._server.base_url or ""

    # -- telling it what to do --------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: int | None = None,
        message: str = "",
        *,
        details: str = "",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` API requests with this Graph error."""
        for _ in range(times):
            self._failures.append(Failure(status, code, message, details))

    def stall_next(self, seconds: float, *, after_create: bool = True) -> None:
        """Make the next send wait ``seconds`` before answering: after taking the
        message (the client times out though Meta has it) or before (it never does)."""
        self._stalls.append(_Stall(seconds, after_create))

    def approve(self, name: str, language: str, parameters: int) -> None:
        self.approved[(name, language)] = parameters

    def add_media(self, mime_type: str, data: bytes) -> str:
        """Keep a file a customer sent; returns its media id as a webhook names it."""
        media_id = str(1_000_000_000_000 + len(self.media))
        self.media[media_id] = (mime_type, data)
        return media_id

    def count(self, key: str) -> int:
        """How many messages went out for the reply with this outbox key."""
        return sum(1 for message in self.sent if message.key == key)

    def sends(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.method == "POST" and isinstance(r.body, dict) and "status" not in r.body
        ]

    # -- what Meta sends to the channel -----------------------------------------------

    def notification(
        self,
        *,
        messages: Sequence[dict[str, Any]] = (),
        statuses: Sequence[dict[str, Any]] = (),
        contacts: Sequence[dict[str, Any]] = (),
        phone_number_id: str | None = None,
    ) -> dict[str, Any]:
        """A webhook body: one change of the ``messages`` field for the number."""
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": BUSINESS_NUMBER,
                "phone_number_id": phone_number_id or self.phone_number_id,
            },
        }
        if contacts:
            value["contacts"] = list(contacts)
        if messages:
            value["messages"] = list(messages)
        if statuses:
            value["statuses"] = list(statuses)
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
        }

    def message(
        self,
        sender: str,
        kind: str,
        content: Any,
        *,
        name: str = "Ana Lopez",
        wamid: str | None = None,
        context: str | None = None,
        phone_number_id: str | None = None,
    ) -> dict[str, Any]:
        """A notification of one message of type ``kind`` (its object ``content``)."""
        message: dict[str, Any] = {
            "from": sender,
            "id": wamid or new_wamid(),
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: content,
        }
        if context is not None:
            message["context"] = {"from": BUSINESS_NUMBER, "id": context}
        return self.notification(
            messages=[message],
            contacts=[{"profile": {"name": name}, "wa_id": sender}],
            phone_number_id=phone_number_id,
        )

    def text(self, sender: str, body: str, **kw: Any) -> dict[str, Any]:
        return self.message(sender, "text", {"body": body}, **kw)

    def media_message(
        self, sender: str, kind: str, media_id: str, mime_type: str, **extra: Any
    ) -> dict[str, Any]:
        """An image, audio, video, sticker or document message (``extra``: caption,
        filename, voice...)."""
        name = extra.pop("name", "Ana Lopez")
        content = {"mime_type": mime_type, "sha256": "aGFzaA==", "id": media_id, **extra}
        return self.message(sender, kind, content, name=name)

    def status(
        self,
        sent: SentMessage,
        status: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        echo_key: bool = True,
    ) -> dict[str, Any]:
        """A notification of ``sent``'s status, as Meta reports it."""
        report: dict[str, Any] = {
            "id": sent.wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": sent.to,
        }
        if echo_key and sent.key is not None:
            report["biz_opaque_callback_data"] = sent.key
        if status in ("sent", "delivered"):
            report["pricing"] = {
                "billable": True,
                "pricing_model": "PMP",
                "category": "service",
                "type": "free_customer_service",
            }
        if errors:
            report["errors"] = errors
        return self.notification(statuses=[report])

    async def post(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        signature: str | None = "",
        tamper: bool = False,
        raw: bytes | None = None,
    ) -> httpx.Response:
        """POST a notification as Meta does: the JSON, signed with the App secret.

        ``signature`` overrides the real one (None sends none); ``tamper`` signs
        the body and then changes one byte of it; ``raw`` posts bytes as they are.
        """
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == "":
            signature = meta_signature(self.app_secret, body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        if tamper:
            body = body.replace(b"whatsapp", b"WHATSAPP", 1)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)

    async def verify(
        self, url: str, token: str, challenge: str = "1158201444", mode: str = "subscribe"
    ) -> httpx.Response:
        """Meta's check of a Callback URL when the webhook is set up."""
        params = {"hub.mode": mode, "hub.challenge": challenge, "hub.verify_token": token}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(url, params=params)

    # -- the API ------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        auth = request.headers.get("authorization", "")
        recorded = RecordedRequest(
            request.method,
            request.url.path,
            dict(request.query_params),
            body,
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else None,
        )
        self.requests.append(recorded)
        return recorded

    def _refusal(self, request: Request, recorded: RecordedRequest) -> Response | None:
        if recorded.bearer != self.access_token:
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if _VERSION.fullmatch(request.path_params["version"]) is None:
            return graph_error(400, 2500, "Unknown path components")
        if self._failures:
            failure = self._failures.popleft()
            return graph_error(failure.status, failure.code, failure.message, failure.details)
        return None

    async def _messages(self, request: Request) -> Response:
        recorded = await self._record(request)
        refused = self._refusal(request, recorded)
        if refused is not None:
            return refused
        if request.path_params["number"] != self.phone_number_id:
            return graph_error(400, 100, "Unsupported post request.", "no such phone number")
        body = recorded.body
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "Invalid parameter", "messaging_product is required")
        if body.get("status") == "read":
            if not isinstance(body.get("message_id"), str):
                return graph_error(400, 100, "Invalid parameter", "message_id is required")
            self.reads.append(body["message_id"])
            return JSONResponse({"success": True})
        problem = _check_send(body, self.approved)
        if problem is not None:
            return problem
        stall = self._stalls.popleft() if self._stalls else None
        if stall is not None and not stall.after_create:
            await asyncio.sleep(stall.seconds)
            # A client that gave up has gone: Meta would not have taken it either.
            if await request.is_disconnected():
                return Response(status_code=499)
        sent = SentMessage(new_wamid(), body["to"], body["type"], body)
        self.sent.append(sent)
        if stall is not None and stall.after_create:
            await asyncio.sleep(stall.seconds)
        answer: dict[str, Any] = {"id": sent.wamid}
        if sent.type == "template":
            answer["message_status"] = "accepted"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": sent.to, "wa_id": sent.to}],
                "messages": [answer],
            }
        )

    async def _node(self, request: Request) -> Response:
        recorded = await self._record(request)
        refused = self._refusal(request, recorded)
        if refused is not None:
            return refused
        node = request.path_params["node"]
        if node == self.phone_number_id:
            return JSONResponse(
                {
                    "verified_name": "Acme Support",
                    "display_phone_number": "+1 555-078-3881",
                    "id": node,
                }
            )
        found = self.media.get(node)
        if found is None:
            return graph_error(
                400,
                100,
                f"Unsupported get request. Object with ID '{node}' does not exist",
            )
        token = uuid.uuid4().hex
        self._downloads[token] = node
        mime, data = found
        described = {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/whatsapp_business/attachments/{token}?mid={node}&ext=1",
            "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": str(len(data)),
            "id": node,
        }
        if not self.tells_size:
            del described["file_size"]
        return JSONResponse(described)

    async def _download(self, request: Request) -> Response:
        recorded = await self._record(request)
        if recorded.bearer != self.access_token:
            # Meta's media URLs answer an unauthenticated GET without the file.
            return Response("Unauthorized", status_code=401)
        media_id = self._downloads.get(request.path_params["token"])
        if media_id is None or media_id not in self.media:
            return Response("Not found", status_code=404)
        mime, data = self.media[media_id]
        if self.tells_size:
            return Response(data, media_type=mime)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 4096):
                yield data[start : start + 4096]

        return StreamingResponse(chunks(), media_type=mime)


def _check_send(body: dict[str, Any], approved: dict[tuple[str, str], int]) -> Response | None:
    """Meta's refusal of a malformed send, or None."""
    to = body.get("to")
    if not isinstance(to, str) or _DIGITS.fullmatch(to) is None:
        return graph_error(400, 100, "Invalid parameter", "to must be a phone number")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
        return graph_error(400, 100, "Invalid parameter", "biz_opaque_callback_data")
    kind = body.get("type")
    if kind == "text":
        text = body.get("text")
        message = text.get("body") if isinstance(text, dict) else None
        if not isinstance(message, str) or not message.strip():
            return graph_error(400, 100, "Invalid parameter", "text.body is required")
        if len(message) > 4096:
            return graph_error(400, 100, "Invalid parameter", "text.body is too long")
        return None
    if kind == "template":
        template = body.get("template")
        if not isinstance(template, dict):
            return graph_error(400, 131008, "Required parameter is missing", "template")
        name = template.get("name")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        wanted = approved.get((str(name), str(code)))
        if wanted is None:
            return graph_error(
                404,
                132001,
                "Template name does not exist in the translation",
                f"template name ({name}) does not exist in {code}",
            )
        given = 0
        for component in template.get("components") or []:
            if component.get("type") == "body":
                given = len(component.get("parameters") or [])
        if given != wanted:
            return graph_error(
                400,
                132000,
                "Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({given}) does not match the expected "
                f"number of params ({wanted})",
            )
        return None
    return graph_error(400, 131051, "Unsupported message type", f"type {kind!r}")


def graph_error(status: int, code: int | None, message: str, details: str = "") -> Response:
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}" if code is not None else message,
        "type": "OAuthException",
        "fbtrace_id": "A" + uuid.uuid4().hex[:22],
    }
    if code is not None:
        error["code"] = code
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return JSONResponse({"error": error}, status_code=status)
