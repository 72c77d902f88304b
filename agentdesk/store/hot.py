"""The hot data: what the desk works on, kept in memory.

Files under ``hot/``:

- ``tasks.json``: open, pending and recently closed tasks, the outbox,
  plugin state and meta. Read when the store opens; this is what the inbox
  needs.
- ``customers.json``: customers, read on first use.
- ``events-XX.json``: the events of the hot tasks in 64 buckets by task id,
  each read on first use of one of its tasks. Each starts with an ``index``
  table (event ids and channel message ids of the bucket), so looking up an
  event or a duplicate reads those small tables and then one bucket.

Changes committed before a part is read are kept: reading a file never
replaces what memory holds, since memory is always newer than the files.
"""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.domain import Event, Message, Task, codec

from .batch_codec import EncodedBatch, object_text
from .protocol import Batch
from .shards import MovedTask
from .state import StoreState
from .tinyfile import read_tables

BUCKETS = 64


def bucket_of(task_id: str) -> int:
    return zlib.crc32(task_id.encode("utf-8", "surrogatepass")) % BUCKETS


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic collector while loading many objects that form no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class _Index:
    """Where the events of the buckets not yet loaded are."""

    event_bucket: dict[str, int] = field(default_factory=dict)
    external: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    ids_by_bucket: dict[int, list[str]] = field(default_factory=dict)


class Hot:
    """The hot part of a store: one ``StoreState`` and the files it comes from."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state = StoreState()
        self.task_text: dict[str, str] = {}
        self.event_text: dict[str, str] = {}
        self.customer_text: dict[str, str] = {}
        self.customers_loaded = False
        self.customers_dirty = False
        self._loaded: set[int] = set()
        self._dirty: set[int] = set()
        self._index: _Index | None = None

    @property
    def tasks_path(self) -> Path:
        return self.directory / "tasks.json"

    @property
    def customers_path(self) -> Path:
        return self.directory / "customers.json"

    def bucket_path(self, bucket: int) -> Path:
        return self.directory / f"events-{bucket:02x}.json"

    # --- loading ------------------------------------------------------------

    def load(self) -> None:
        """Read ``tasks.json``: tasks, outbox, plugin state and meta."""
        if not self.tasks_path.exists():
            return
        tables = read_tables(self.tasks_path)
        with no_gc():
            for text in tables.get("tasks", ()):
                task = codec.task_from_dict(json.loads(text))
                self.state.put_task(task)
                self.task_text[task.id] = text
            for text in tables.get("outbox", ()):
                entry = codec.outbox_from_dict(json.loads(text))
                self.state.outbox[entry.key] = entry
            for text in tables.get("state", ()):
                doc = json.loads(text)
                self.state.set_state(doc["namespace"], doc["key"], doc["value"])
            for text in tables.get("meta", ()):
                doc = json.loads(text)
                self.state.meta[doc["key"]] = doc["value"]

    def ensure_customers(self) -> None:
        if self.customers_loaded:
            return
        if self.customers_path.exists():
            texts = read_tables(self.customers_path).get("customers", ())
            with no_gc():
                for text in texts:
                    customer = codec.customer_from_dict(json.loads(text))
                    if customer.id not in self.state.customers:
                        self.state.put_customer(customer)
                        self.customer_text[customer.id] = text
        self.customers_loaded = True

    def ensure_bucket(self, bucket: int) -> None:
        if bucket in self._loaded:
            return
        path = self.bucket_path(bucket)
        if path.exists():
            texts = read_tables(path, only=("events",)).get("events", ())
            events = self.state.events
            with no_gc():
                for text in texts:
                    event = codec.event_from_dict(json.loads(text))
                    if event.id not in events:
                        self.state.put_event(event)
                        self.event_text[event.id] = text
        self._loaded.add(bucket)

    def ensure_all(self) -> None:
        self.ensure_customers()
        for bucket in range(BUCKETS):
            self.ensure_bucket(bucket)

    def _ensure_index(self) -> _Index:
        if self._index is None:
            index = _Index()
            for bucket in range(BUCKETS):
                path = self.bucket_path(bucket)
                if bucket in self._loaded or not path.exists():
                    continue
                for text in read_tables(path, only=("index",)).get("index", ()):
                    doc = json.loads(text)
                    ids = list(doc["events"])
                    index.ids_by_bucket[bucket] = ids
                    for event_id in ids:
                        index.event_bucket[event_id] = bucket
                    for channel, external_id, event_id in doc["external"]:
                        index.external[(channel, external_id)] = (bucket, event_id)
            self._index = index
        return self._index

    def _all_loaded(self) -> bool:
        return len(self._loaded) == BUCKETS

    # --- reads that may load a bucket -------------------------------------------

    def events_of_task(self, task_id: str) -> list[Event]:
        self.ensure_bucket(bucket_of(task_id))
        return self.state.events_of_task(task_id)

    def find_event(self, event_id: str) -> Event | None:
        event = self.state.events.get(event_id)
        if event is not None or self._all_loaded():
            return event
        bucket = self._ensure_index().event_bucket.get(event_id)
        if bucket is None or bucket in self._loaded:
            return None
        self.ensure_bucket(bucket)
        return self.state.events.get(event_id)

    def find_message(self, channel: str, external_id: str) -> Message | None:
        message = self.state.message_by_external_id(channel, external_id)
        if message is not None or self._all_loaded():
            return message
        hit = self._ensure_index().external.get((channel, external_id))
        if hit is None or hit[0] in self._loaded:
            return None
        self.ensure_bucket(hit[0])
        return self.state.message_by_external_id(channel, external_id)

    def event_count(self) -> int:
        if self._all_loaded():
            return len(self.state.events)
        index = self._ensure_index()
        events = self.state.events
        unread = sum(
            1
            for bucket, ids in index.ids_by_bucket.items()
            if bucket not in self._loaded
            for event_id in ids
            if event_id not in events
        )
        return len(events) + unread

    # --- changes ----------------------------------------------------------------

    def apply(self, batch: Batch, encoded: EncodedBatch | None = None) -> None:
        """Apply a committed batch; ``encoded`` gives the documents' texts if known."""
        for customer in batch.customers:
            self.customer_text.pop(customer.id, None)
        for task in batch.tasks:
            self.task_text.pop(task.id, None)
        for event in batch.events:
            self.event_text.pop(event.id, None)
            self._dirty.add(bucket_of(event.task_id))
        old_buckets = {
            bucket_of(old.task_id)
            for old in map(self.state.events.get, (e.id for e in batch.events))
            if old is not None
        }
        self._dirty.update(old_buckets)
        self.state.apply(batch)
        if batch.customers:
            self.customers_dirty = True
        if encoded is not None:
            self.customer_text.update(
                zip((c.id for c in batch.customers), encoded.customer_texts, strict=True)
            )
            self.task_text.update(zip((t.id for t in batch.tasks), encoded.task_texts, strict=True))
            self.event_text.update(
                zip((e.id for e in batch.events), encoded.event_texts, strict=True)
            )

    def take(self, task_id: str) -> MovedTask | None:
        """Remove a task and its events (to move them to history)."""
        bucket = bucket_of(task_id)
        self.ensure_bucket(bucket)
        removed = self.state.remove_task(task_id)
        if removed is None:
            return None
        self._dirty.add(bucket)
        task, events = removed
        texts = {e.id: self.event_text.pop(e.id) for e in events if e.id in self.event_text}
        return MovedTask(task, events, self.task_text.pop(task_id, None), texts)

    def add(self, moved: MovedTask) -> None:
        """Take in a task and its events (moved back from history)."""
        self.state.add_task(moved.task, moved.events)
        if moved.task_text is not None:
            self.task_text[moved.task.id] = moved.task_text
        self.event_text.update(moved.event_texts)
        self._dirty.add(bucket_of(moved.task.id))

    # --- checkpoints --------------------------------------------------------------

    def files(self) -> dict[Path, dict[str, Iterable[str]]]:
        """The files a checkpoint writes: ``tasks.json`` always, the rest when changed."""
        state = self.state
        files: dict[Path, dict[str, Iterable[str]]] = {
            self.tasks_path: {
                "tasks": [_text(self.task_text, t) for t in state.tasks.values()],
                "outbox": [object_text(entry) for entry in state.outbox.values()],
                "state": [
                    _compact({"namespace": namespace, "key": key, "value": value})
                    for namespace, space in state.state.items()
                    for key, value in space.items()
                ],
                "meta": [_compact({"key": k, "value": v}) for k, v in state.meta.items()],
            }
        }
        if self.customers_dirty:
            self.ensure_customers()
            files[self.customers_path] = {
                "customers": [_text(self.customer_text, c) for c in state.customers.values()]
            }
        if self._dirty:
            for bucket in self._dirty:
                self.ensure_bucket(bucket)
            by_bucket: dict[int, list[tuple[str, list[Event]]]] = {b: [] for b in self._dirty}
            for task_id, events in state.timelines():
                timelines = by_bucket.get(bucket_of(task_id))
                if timelines is not None:
                    timelines.append((task_id, events))
            for bucket, timelines in by_bucket.items():
                files[self.bucket_path(bucket)] = self._bucket_tables(timelines)
        return files

    def _bucket_tables(self, timelines: list[tuple[str, list[Event]]]) -> dict[str, Iterable[str]]:
        event_ids: dict[str, str] = {}
        external: list[list[str]] = []
        texts: list[str] = []
        for task_id, events in timelines:
            for event in events:
                event_ids[event.id] = task_id
                if isinstance(event, Message) and event.external_id is not None:
                    external.append([event.channel, event.external_id, event.id])
                texts.append(_text(self.event_text, event))
        return {"index": [_compact({"events": event_ids, "external": external})], "events": texts}

    def mark_clean(self) -> None:
        self._dirty.clear()
        self.customers_dirty = False


def _text(cache: dict[str, str], obj: Task | Event) -> str:
    text = cache.get(obj.id)
    if text is None:
        text = cache[obj.id] = object_text(obj)
    return text
