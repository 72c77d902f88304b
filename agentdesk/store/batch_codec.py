"""The JSON form of a ``Batch``: what the journal writes and every store applies.

Every store applies the *decoded* form of a batch rather than the caller's
objects, so what a store holds in memory is exactly what it wrote (and would
replay after a crash), and no caller keeps a reference into the store's state.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from typing import Any

from agentdesk.domain import Customer, Event, OutboxEntry, Task, codec

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
    if batch.outbox_done:
        out["outbox_done"] = list(batch.outbox_done)
    if batch.state:
        out["state"] = [[ns, key, value] for ns, key, value in batch.state]
    if batch.meta:
        out["meta"] = dict(batch.meta)
    return out


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


@dataclass(slots=True)
class EncodedBatch:
    """A batch's journal text, with the text of each customer, task and event in it."""

    body: str
    customer_texts: list[str]
    task_texts: list[str]
    event_texts: list[str]


def encode_batch_texts(batch: Batch) -> EncodedBatch:
    """Encode ``batch`` object by object (the same text ``encode_batch`` gives)."""
    try:
        customers = [object_text(c) for c in batch.customers]
        tasks = [object_text(t) for t in batch.tasks]
        events = [object_text(e) for e in batch.events]
        rest = batch_to_dict(
            Batch(
                outbox_put=batch.outbox_put,
                outbox_done=batch.outbox_done,
                state=batch.state,
                meta=batch.meta,
            )
        )
        parts = [
            f'"{name}":[{",".join(texts)}]'
            for name, texts in (("customers", customers), ("tasks", tasks), ("events", events))
            if texts
        ]
        parts.extend(f'"{name}":{_compact(value)}' for name, value in rest.items())
    except (TypeError, ValueError) as exc:
        raise StoreError(f"this change cannot be saved, a value is not plain data: {exc}") from None
    return EncodedBatch("{" + ",".join(parts) + "}", customers, tasks, events)


def encode_batch(batch: Batch) -> str:
    """One line of compact JSON (ASCII only, so any text survives the file)."""
    return encode_batch_texts(batch).body


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def decode_batch(text: str | bytes) -> Batch:
    return batch_from_dict(json.loads(text))


def object_text(obj: Customer | Task | Event | OutboxEntry) -> str:
    """The compact JSON text of one domain object, as files and the journal hold it.

    Fields at their default value are left out (the codec restores them):
    documents are about a third smaller, and parse that much faster.
    """
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
