"""Plain-dict forms of domain objects, for journals, files, exports and the wire.

``to_dict`` gives JSON-ready dicts (enums become their string values);
``*_from_dict`` builds the objects back. Round trips are lossless.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .customer import Customer, Identity
from .events import EVENT_TYPES, Attachment, DeliveryState, Direction, Event
from .outbox import OutboxEntry
from .task import Priority, Status, Task


class CodecError(ValueError):
    """A dict that does not describe a domain object."""


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls))
        _FIELD_NAMES[cls] = names
    return names


def to_dict(obj: Customer | Task | Event | OutboxEntry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if name == "identities":
            value = [[i.kind, i.value] for i in value]
        elif name == "attachments":
            value = [[a.name, a.content_type, a.size, a.path] for a in value]
        elif isinstance(value, (list, dict)):
            value = value.copy()
        out[name] = value
    return out


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = _names(cls)
    unknown = set(data) - set(names)
    if unknown:
        raise CodecError(f"unknown field(s) for {cls.__name__}: {', '.join(sorted(unknown))}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from None


def customer_from_dict(data: dict[str, Any]) -> Customer:
    data = dict(data)
    data["identities"] = [Identity(kind, value) for kind, value in data.get("identities", [])]
    return _build(Customer, data)


def task_from_dict(data: dict[str, Any]) -> Task:
    data = dict(data)
    for name, enum in (("status", Status), ("priority", Priority)):
        if name in data:
            data[name] = _enum(enum, "Task", name, data[name])
    return _build(Task, data)


def _enum(enum: type, owner: str, name: str, value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise CodecError(f"{owner}.{name}: {value!r} is not one of {known}") from None


def event_from_dict(data: dict[str, Any]) -> Event:
    data = dict(data)
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise CodecError(f"unknown event kind {kind!r}")
    for name, enum in (("direction", Direction), ("delivery", DeliveryState)):
        if name in data:
            data[name] = _enum(enum, cls.__name__, name, data[name])
    if "attachments" in data:
        data["attachments"] = [Attachment(*a) for a in data["attachments"]]
    return _build(cls, data)


def outbox_from_dict(data: dict[str, Any]) -> OutboxEntry:
    return _build(OutboxEntry, dict(data))
