"""The one encoded form of the desk's messages: JSON by msgspec.

Requests, answers, updates and problems encode with ``encode``; each decodes
with the decoder of its type, made once. Data that does not describe what it
should is a ``DeskError`` with code ``invalid`` naming the field at fault.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from .errors import DeskError, ErrorCode
from .requests import AnyRequest, Request

_encoder = msgspec.json.Encoder()


def encode(message: Any) -> bytes:
    """The JSON of a request, an answer, an update or a problem."""
    return _encoder.encode(message)


@functools.cache
def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind)


def decode(data: bytes | str, kind: Any) -> Any:
    """``data`` read as ``kind`` (a Struct, ``list[...]``, ``X | None``...)."""
    try:
        return _decoder(kind).decode(data)
    except msgspec.DecodeError as exc:
        raise DeskError(f"malformed {_name(kind)}: {exc}", ErrorCode.INVALID) from None


def decode_request(data: bytes | str) -> Request:
    """A request of any kind, told by its ``op``."""
    return decode(data, AnyRequest)  # type: ignore[no-any-return]


def decode_result(request: Request | type[Request], data: bytes | str) -> Any:
    """The answer to ``request``, as its type says."""
    kind = request.result if isinstance(request, type) else type(request).result
    return decode(data, kind)


def _name(kind: Any) -> str:
    return "request" if kind is AnyRequest else getattr(kind, "__name__", str(kind))
