"""The one encoded form of the domain's objects: JSON written and read by msgspec.

The store keeps each object as this JSON, export writes it a line each, and
the wire will carry it: one encoder and one typed decoder per class, so the
three can never disagree. ``encode`` refuses a value that would not read
back as it was (a lone surrogate, a float that is not a number), so nothing
is written that cannot be read.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from .activity import Activity
from .customer import Customer
from .events import AnyEvent, Event
from .outbox import OutboxEntry
from .task import Task

T = TypeVar("T")


class CodecError(ValueError):
    """Data that does not describe a domain object, or an object that cannot be encoded."""


_encoder = msgspec.json.Encoder()
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {
    Customer: msgspec.json.Decoder(Customer),
    Task: msgspec.json.Decoder(Task),
    Event: msgspec.json.Decoder(AnyEvent),
    OutboxEntry: msgspec.json.Decoder(OutboxEntry),
    Activity: msgspec.json.Decoder(Activity),
}
_ANY = msgspec.json.Decoder()


def encode(obj: Customer | Task | Event | OutboxEntry | Activity) -> bytes:
    """The JSON of ``obj``, checked to decode back to an equal object."""
    try:
        data = _encoder.encode(obj)
    except (UnicodeEncodeError, TypeError, OverflowError) as exc:
        raise CodecError(f"{type(obj).__name__} {_id(obj)} cannot be saved: {exc}") from None
    try:
        back: Any = decode(_family(type(obj)), data)
    except CodecError as exc:
        raise CodecError(f"{type(obj).__name__} {_id(obj)} cannot be saved: {exc}") from None
    if back != obj:
        raise CodecError(f"{type(obj).__name__} {_id(obj)} would not read back as written")
    return data


def encode_value(value: Any) -> bytes:
    """The JSON of a plain value (plugin state), refused when it would not read back."""
    try:
        data = _encoder.encode(value)
    except (UnicodeEncodeError, TypeError, OverflowError) as exc:
        raise CodecError(f"the value cannot be saved as JSON: {exc}") from None
    if _ANY.decode(data) != value and not isinstance(value, tuple):
        raise CodecError("the value would not read back as written (a float that is not a number?)")
    return data


def decode_value(data: bytes | str) -> Any:
    return _ANY.decode(data)


def decode(cls: type[T], data: bytes | str) -> T:
    """The object of class ``cls`` (``Event`` for any event) that ``data`` holds."""
    try:
        decoded: T = _DECODERS[cls].decode(data)
        return decoded
    except msgspec.DecodeError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from None


def to_builtins(obj: Customer | Task | Event | OutboxEntry) -> dict[str, Any]:
    """``obj`` as JSON-ready dicts and lists (enums as their values)."""
    data: dict[str, Any] = msgspec.to_builtins(obj)
    return data


def from_builtins(cls: type[T], data: Any) -> T:
    """The object of class ``cls`` (``Event`` for any event) described by ``data``;
    ``CodecError`` says which field is wrong."""
    target = AnyEvent if cls is Event else cls
    try:
        return msgspec.convert(data, target)
    except msgspec.ValidationError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from None


def _family(cls: type) -> type:
    return Event if issubclass(cls, Event) else cls


def _id(obj: Any) -> str:
    return str(getattr(obj, "id", None) or getattr(obj, "key", ""))
