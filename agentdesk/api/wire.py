"""The frames of the hub protocol: the desk's messages on a websocket.

Every frame is one JSON text message, told apart by its ``type``. A console
says ``hello`` (protocol version, its own version, its token); the hub answers
``welcome`` or ``refused``. Then the console sends ``call`` frames (a request
with an id it chose) and one ``subscribe``; the hub answers each call with a
``result`` or an ``error`` carrying the same id, acknowledges the subscription
with ``subscribed`` and streams ``update`` frames after it.
``bye`` tells the console why the hub is closing the connection.

An update frame's bytes are made once per update (``update_frame``), then
sent as they are to every console that may see it. See docs/protocol.md.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

from .errors import ErrorCode
from .requests import AnyRequest, Request

#: Bumped on any change a console of the previous version would misread.
PROTOCOL_VERSION = 1
#: The largest frame a console may send the hub, in bytes.
MAX_FRAME = 1024 * 1024
#: The largest frame a console accepts from the hub: a snapshot of a busy
#: desk's open tasks is one answer (about 600 bytes a task).
MAX_ANSWER = 256 * 1024 * 1024


class Frame(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"
):
    """One message on the websocket."""


class Hello(Frame, frozen=True, tag="hello"):
    protocol: int
    client: str
    token: str
    #: Whether this connection shows its agent online (a console) or not (a
    #: command-line tool an admin runs: routing must not give it work).
    presence: bool = True


class Welcome(Frame, frozen=True, tag="welcome"):
    agent: str
    role: str
    teams: list[str]
    hub: str
    seq: int
    protocol: int = PROTOCOL_VERSION


class Refused(Frame, frozen=True, tag="refused"):
    code: ErrorCode
    message: str


class Subscribe(Frame, frozen=True, tag="subscribe"):
    #: Updates after this seq; the hub answers ``reset`` when it no longer reaches back.
    since: int


class Subscribed(Frame, frozen=True, tag="subscribed"):
    """The hub's answer to ``subscribe``: the update frames after it belong to
    this subscription (a new ``subscribe`` replaces the one before)."""

    since: int


class Call(Frame, frozen=True, tag="call"):
    #: Chosen by the console, unique per command: a command sent again with
    #: the same id (after a reconnect) is applied once.
    id: str
    #: Any request, told by its ``op``.
    request: AnyRequest


class Result(Frame, frozen=True, tag="result"):
    id: str
    #: The answer, of the request's ``result`` type.
    value: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))


class Error(Frame, frozen=True, tag="error"):
    id: str
    code: ErrorCode
    message: str


class UpdateFrame(Frame, frozen=True, tag="update"):
    #: An ``agentdesk.api.Update``.
    update: msgspec.Raw


class Bye(Frame, frozen=True, tag="bye"):
    #: ``restarting`` (come back soon), ``revoked``, ``protocol``. A console
    #: too slow to read gets no bye (its queue is full): only close code 4003.
    reason: str
    message: str


AnyFrame = Union[  # noqa: UP007 - msgspec needs the Union spelled out
    Hello, Welcome, Refused, Subscribe, Subscribed, Call, Result, Error, UpdateFrame, Bye
]

#: Close codes of the websocket (4000-4999 are the application's).
CLOSE_RESTARTING = 4000
CLOSE_REVOKED = 4001
CLOSE_REFUSED = 4002
CLOSE_TOO_SLOW = 4003
CLOSE_PROTOCOL = 4004

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyFrame)


def encode_frame(frame: Frame) -> bytes:
    return _encoder.encode(frame)


def decode_frame(data: bytes | str) -> Any:
    """A frame of any type; ``msgspec.DecodeError`` (a ``ValueError``) naming
    the field at fault when it is none."""
    return _decoder.decode(data)


def call_frame(call_id: str, request: Request) -> str:
    return encode_frame(Call(id=call_id, request=request)).decode()  # type: ignore[arg-type]


def update_frame(update_json: bytes) -> bytes:
    """The frame around an update already encoded by ``agentdesk.api.codec``."""
    return encode_frame(UpdateFrame(update=msgspec.Raw(update_json)))


def result_frame(call_id: str, value_json: bytes) -> bytes:
    return encode_frame(Result(id=call_id, value=msgspec.Raw(value_json)))
