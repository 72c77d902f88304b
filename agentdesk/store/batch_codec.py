"""The JSON form of a ``Batch``: what the journal writes and every store applies.

Every store applies the *decoded* form of a batch rather than the caller's
objects, so what a store holds in memory is exactly what it wrote (and would
replay after a crash), and no caller keeps a reference into the store's state.
"""

from __future__ import annotations

import json
from typing import Any

from agentdesk.domain import codec

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


def encode_batch(batch: Batch) -> str:
    """One line of compact JSON (ASCII only, so any text survives the file)."""
    try:
        return json.dumps(batch_to_dict(batch), separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"this change cannot be saved, a value is not plain data: {exc}") from None


def decode_batch(text: str | bytes) -> Batch:
    return batch_from_dict(json.loads(text))
