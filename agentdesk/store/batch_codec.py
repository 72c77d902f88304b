"""The JSON form of a ``Batch``: what the journal writes and every store applies.

Every store applies the *decoded* form of a batch rather than the caller's
objects, so what a store holds in memory is exactly what it wrote (and would
replay after a crash), and no caller keeps a reference into the store's state.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from typing import Any

import msgspec

from agentdesk.domain import Customer, Event, OutboxEntry, Task, codec
from agentdesk.domain.events import EVENT_TYPES

from .errors import StoreError
from .protocol import Batch


def batch_to_dict(batch: Batch) -> dict[str, Any]:
    """A JSON-ready dict of ``batch``; empty parts are left out."""
    out: dict[str, Any] = {}
    if batch.customers:
        out["customers"] = [codec.to_dict(c) for c in batch.customers]
    if batch.tasks:
        out["tasks"] = [codec.to_dict(t) for t in batch.tasks]
    if batch.events:
        out["events"] = [codec.to_dict(e) for e in batch.events]
    if batch.outbox_put:
        out["outbox_put"] = [codec.to_dict(o) for o in batch.outbox_put]
    out.update(_rest_dict(batch))
    return out


def _rest_dict(batch: Batch) -> dict[str, Any]:
    """The plain parts of ``batch`` (outbox done, state, meta) that are not empty."""
    rest: dict[str, Any] = {}
    if batch.outbox_done:
        rest["outbox_done"] = list(batch.outbox_done)
    if batch.state:
        rest["state"] = [[ns, key, value] for ns, key, value in batch.state]
    if batch.meta:
        rest["meta"] = dict(batch.meta)
    return rest


def batch_from_dict(data: dict[str, Any]) -> Batch:
    """Build a ``Batch`` back from ``batch_to_dict`` output."""
    return Batch(
        customers=[codec.customer_from_dict(c) for c in data.get("customers", ())],
        tasks=[codec.task_from_dict(t) for t in data.get("tasks", ())],
        events=[codec.event_from_dict(e) for e in data.get("events", ())],
        outbox_put=[codec.outbox_from_dict(o) for o in data.get("outbox_put", ())],
        outbox_done=list(data.get("outbox_done", ())),
        state=[(ns, key, value) for ns, key, value in data.get("state", ())],
        meta=dict(data.get("meta", {})),
    )


def batch_from_plain(data: dict[str, Any]) -> Batch:
    """A ``Batch`` from plain data this package encoded itself (msgpack or JSON
    of ``Batch`` objects), built by msgspec: several times faster than
    ``batch_from_dict``, which checks more (unknown fields) and says more."""
    convert = msgspec.convert
    try:
        return Batch(
            customers=[convert(c, Customer) for c in data.get("customers", ())],
            tasks=[convert(t, Task) for t in data.get("tasks", ())],
            events=[convert(e, EVENT_TYPES[e["kind"]]) for e in data.get("events", ())],
            outbox_put=[convert(o, OutboxEntry) for o in data.get("outbox_put", ())],
            outbox_done=list(data.get("outbox_done", ())),
            state=[(ns, key, value) for ns, key, value in data.get("state", ())],
            meta=dict(data.get("meta", {})),
        )
    except (msgspec.MsgspecError, KeyError, TypeError, ValueError):
        return batch_from_dict(data)


@dataclass(slots=True)
class EncodedBatch:
    """A batch's journal text, the text of each customer, task and event in it,
    and ``copy``: the batch rebuilt from those texts, which is what a store applies."""

    body: str
    customer_texts: list[str]
    task_texts: list[str]
    event_texts: list[str]
    copy: Batch


def encode_batch_texts(batch: Batch) -> EncodedBatch:
    """Encode ``batch`` object by object, and rebuild it from its own text.

    Raises ``StoreError`` when a value is not plain data.
    """
    try:
        customer_texts, customers = _round_trips(batch.customers)
        task_texts, tasks = _round_trips(batch.tasks)
        event_texts, events = _round_trips(batch.events)
        outbox_texts, outbox = _round_trips(batch.outbox_put)
        rest = _rest_dict(batch)
        rest_text = plain_text(rest) if rest else ""
        copied = _plain_copy(rest_text) if rest else {}
    except (TypeError, ValueError) as exc:
        raise StoreError(f"this change cannot be saved, a value is not plain data: {exc}") from None
    parts = [
        f'"{name}":[{",".join(texts)}]'
        for name, texts in (
            ("customers", customer_texts),
            ("tasks", task_texts),
            ("events", event_texts),
            ("outbox_put", outbox_texts),
        )
        if texts
    ]
    if rest_text:
        parts.append(rest_text[1:-1])  # the members of the rest, without braces
    copy = Batch(
        customers=customers,
        tasks=tasks,
        events=events,
        outbox_put=outbox,
        outbox_done=list(copied.get("outbox_done", ())),
        state=[(ns, key, value) for ns, key, value in copied.get("state", ())],
        meta=dict(copied.get("meta", {})),
    )
    return EncodedBatch("{" + ",".join(parts) + "}", customer_texts, task_texts, event_texts, copy)


def _round_trips(objects: list[Any]) -> tuple[list[str], list[Any]]:
    texts: list[str] = []
    copies: list[Any] = []
    for obj in objects:
        text, copy = _round_trip(obj)
        texts.append(text)
        copies.append(copy)
    return texts, copies


def _plain_copy(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)  # escaped lone surrogates, which msgspec refuses


def encode_batch(batch: Batch) -> str:
    """One line of compact JSON (UTF-8; what UTF-8 cannot hold is escaped)."""
    return encode_batch_texts(batch).body


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def plain_text(value: Any) -> str:
    """Plain data (plugin state, counters) as compact JSON."""
    try:
        return _ENCODER.encode(value).decode("utf-8")
    except _FALLBACK:
        return _compact(value)


def decode_batch(text: str | bytes) -> Batch:
    """A batch back from its journal text (what ``encode_batch`` wrote).

    Decoded straight into the domain's classes by msgspec; text it refuses
    (escaped lone surrogates, a value of the wrong type) takes the path of
    ``json`` and ``batch_from_dict``, which says what is wrong.
    """
    try:
        wire = _WIRE.decode(text)
        return Batch(
            customers=wire.customers,
            tasks=wire.tasks,
            events=[_event_decoder(_KIND.decode(raw).kind).decode(raw) for raw in wire.events],
            outbox_put=wire.outbox_put,
            outbox_done=wire.outbox_done,
            state=[(ns, key, value) for ns, key, value in wire.state],
            meta=wire.meta,
        )
    except (msgspec.MsgspecError, KeyError, TypeError, ValueError):
        return batch_from_dict(json.loads(text))


def decode_customer(text: str | bytes) -> Customer:
    """A customer back from its text (``object_text``)."""
    try:
        return _CUSTOMER.decode(text)
    except msgspec.MsgspecError:
        return codec.customer_from_dict(json.loads(text))


class _Wire(msgspec.Struct):
    """A batch's journal text as msgspec decodes it: events wait for their kind."""

    customers: list[Customer] = []
    tasks: list[Task] = []
    events: list[msgspec.Raw] = []
    outbox_put: list[OutboxEntry] = []
    outbox_done: list[str] = []
    state: list[tuple[str, str, Any]] = []
    meta: dict[str, Any] = {}


class _Kind(msgspec.Struct):
    kind: str


_WIRE = msgspec.json.Decoder(_Wire)
_KIND = msgspec.json.Decoder(_Kind)
_CUSTOMER = msgspec.json.Decoder(Customer)


def _event_decoder(kind: str) -> Any:
    return _decoder(EVENT_TYPES[kind])


def _decoder(cls: type) -> Any:
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = msgspec.json.Decoder(cls)
    return decoder


_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type, Any] = {}
_FROM_DICT: dict[type, Any] = {
    Customer: codec.customer_from_dict,
    Task: codec.task_from_dict,
    OutboxEntry: codec.outbox_from_dict,
}
# Lone surrogates, which UTF-8 cannot hold, and values the typed decoder
# refuses (a number in a field of text, say) take the slower path of ``json``.
_FALLBACK = (TypeError, ValueError, msgspec.MsgspecError)


def object_text(obj: Customer | Task | Event | OutboxEntry) -> str:
    """The compact JSON text of one domain object, as files and the journal hold it."""
    try:
        return _ENCODER.encode(obj).decode("utf-8")
    except _FALLBACK:
        return _json_text(obj)


def _round_trip(obj: Any) -> tuple[str, Any]:
    """``obj``'s text, and a new object decoded from that text."""
    cls = type(obj)
    decoder = _DECODERS.get(cls) or _decoder(cls)
    try:
        raw = _ENCODER.encode(obj)
        return raw.decode("utf-8"), decoder.decode(raw)
    except _FALLBACK:
        text = _json_text(obj)
        return text, _FROM_DICT.get(cls, codec.event_from_dict)(json.loads(text))


def _json_text(obj: Any) -> str:
    """The text through ``json``, which escapes what UTF-8 cannot hold and
    raises for what is not plain data. Fields at their default are left out."""
    data = codec.to_dict(obj)
    for name, default in _defaults(type(obj)).items():
        value = data.get(name, _ABSENT)
        if type(value) is type(default) and value == default:
            del data[name]
    return _compact(data)


_ABSENT = object()
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    """Each field of ``cls`` that has a default, with that default.

    ``kind`` always stays: it says which class an event document is.
    """
    found = _DEFAULTS.get(cls)
    if found is None:
        found = {}
        for item in fields(cls):
            if item.name == "kind":
                continue
            if item.default is not MISSING:
                found[item.name] = item.default
            elif item.default_factory is not MISSING:
                found[item.name] = item.default_factory()
        _DEFAULTS[cls] = found
    return found


def cached_text(cache: dict[str, str], obj: Customer | Task | Event) -> str:
    """The text of ``obj`` from ``cache`` (by id), encoding and caching it if missing."""
    text = cache.get(obj.id)
    if text is None:
        text = cache[obj.id] = object_text(obj)
    return text
