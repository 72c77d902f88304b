"""The hot data: what the desk works on, kept in memory.

Files under ``hot/``:

- ``tasks.json``: open, pending and recently closed tasks, the outbox,
  plugin state and meta. Read and decoded when the store opens: this is what
  the inbox needs.
- ``customers.json``: an ``index`` table (customer ids, and which customer
  owns each identity), then the customers. Read on first use; a customer is
  decoded when it is asked for.
- ``events-XX.json``: the events of the hot tasks in 64 buckets by task id.
  Each starts with an ``index`` table (event id -> task id, channel message id
  -> event id), then the events grouped by task. A lookup reads the small
  index tables; a timeline reads its bucket as text and decodes only that
  task's events. A checkpoint rewrites a changed bucket from the text of the
  events it did not decode, so it costs no decoding either.

Memory is always newer than the files: reading a file never replaces what
memory holds, and memory answers first.
"""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agentdesk.domain import Customer, Event, Identity, Message, codec

from .batch_codec import EncodedBatch, cached_text, object_text
from .bulk_decode import tasks_from_texts
from .protocol import Batch
from .shards import MovedTask
from .state import StoreState
from .tinyfile import read_tables

BUCKETS = 64
_SEP = "\x1f"  # between a channel and its message id in index keys


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


_EMPTY_INDEX: dict = {"tasks": {}, "events": {}, "external": {}}


def _blocks_match(index: dict, texts: list[str]) -> bool:
    """Whether a bucket's index still describes its events (not after an edit):
    one block of events per task, in the index's order."""
    counts = index.get("tasks")
    if counts is None or sum(counts.values()) != len(texts):
        return False
    position = 0
    for task_id, count in counts.items():
        if count and not _names(texts[position], "task_id", task_id, 400):
            return False
        position += count
    return True


def _ids_match(ids: list[str], texts: list[str]) -> bool:
    """Whether ``ids`` are still the ids of ``texts``, in order (not after an edit)."""
    return len(ids) == len(texts) and all(
        _names(text, "id", doc_id, 8) for doc_id, text in zip(ids, texts, strict=True)
    )


def _names(text: str, field: str, value: str, within: int) -> bool:
    """Whether the document ``text`` sets ``field`` to ``value`` near its start."""
    plain = f'"{field}":"{value}"'
    if text.find(plain, 0, within + len(plain)) >= 0:
        return True
    escaped = f'"{field}":{json.dumps(value)}'  # ids with characters JSON escapes
    return text.find(escaped, 0, within + len(escaped)) >= 0


@dataclass(slots=True)
class _Bucket:
    """What is known of one events file. ``timelines`` holds, per task, the
    texts of the file's events not yet decoded into memory."""

    index: dict | None = None
    timelines: dict[str, list[str]] | None = None


class Hot:
    """The hot part of a store: one ``StoreState`` and the files it comes from."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state = StoreState()
        self.task_text: dict[str, str] = {}
        self.event_text: dict[str, str] = {}
        self.customer_text: dict[str, str] = {}
        self.customers_dirty = False
        # Customers on file not decoded yet (id -> text), and the file's index.
        self._customer_raw: dict[str, str] | None = None
        self._customer_index: dict | None = None
        self._buckets = [_Bucket() for _ in range(BUCKETS)]
        self._dirty: set[int] = set()
        # Indexes of the files being written by a checkpoint, in force once written.
        self._pending_indexes: dict[int, dict] = {}
        self._pending_customer_index: dict | None = None

    @property
    def tasks_path(self) -> Path:
        return self.directory / "tasks.json"

    @property
    def customers_path(self) -> Path:
        return self.directory / "customers.json"

    def bucket_path(self, bucket: int) -> Path:
        return self.directory / f"events-{bucket:02x}.json"

    @property
    def dirty(self) -> bool:
        return bool(self._dirty) or self.customers_dirty

    # --- tasks, outbox, state, meta -----------------------------------------------

    def load(self) -> None:
        """Read ``tasks.json``: tasks, outbox, plugin state and meta."""
        if not self.tasks_path.exists():
            return
        tables = read_tables(self.tasks_path)
        with no_gc():
            texts = tables.get("tasks", [])
            for task, text in zip(tasks_from_texts(texts), texts, strict=True):
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

    # --- customers ------------------------------------------------------------------

    def _read_customers(self) -> dict[str, str]:
        if self._customer_raw is None:
            raw: dict[str, str] = {}
            index: dict = {"ids": [], "identities": {}}
            if self.customers_path.exists():
                tables = read_tables(self.customers_path)
                texts = tables.get("customers", [])
                index = json.loads(tables["index"][0]) if tables.get("index") else {}
                if index and _ids_match(index["ids"], texts):
                    raw = dict(zip(index["ids"], texts, strict=True))
                else:  # edited by another tool: decode to rebuild the index
                    index = {"ids": [], "identities": {}}
                    for text in texts:
                        customer = codec.customer_from_dict(json.loads(text))
                        raw[customer.id] = text
                        index["ids"].append(customer.id)
                        if customer.merged_into is None:
                            for identity in customer.identities:
                                index["identities"][str(identity)] = customer.id
            self._customer_index = index
            self._customer_raw = raw
        return self._customer_raw

    def _decode_customer(self, customer_id: str) -> None:
        text = self._read_customers().pop(customer_id, None)
        if text is not None and customer_id not in self.state.customers:
            self.state.put_customer(codec.customer_from_dict(json.loads(text)))
            self.customer_text[customer_id] = text

    def get_customer(self, customer_id: str) -> Customer | None:
        customer = self.state.customers.get(customer_id)
        if customer is None:
            self._decode_customer(customer_id)
            customer = self.state.customers.get(customer_id)
        return customer

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        customer = self.state.customer_by_identity(identity)
        if customer is not None:
            return customer
        self._read_customers()
        assert self._customer_index is not None
        owner = self._customer_index["identities"].get(str(identity))
        if owner is None or owner in self.state.customers:
            return None  # memory holds that customer, and its identities
        self._decode_customer(owner)
        return self.state.customer_by_identity(identity)

    def all_customers(self) -> list[Customer]:
        with no_gc():
            for customer_id in list(self._read_customers()):
                self._decode_customer(customer_id)
        return list(self.state.customers.values())

    def customer_count(self) -> int:
        known = self.state.customers
        return len(known) + sum(1 for c in self._read_customers() if c not in known)

    # --- events -------------------------------------------------------------------------

    def _index(self, bucket: int) -> dict:
        entry = self._buckets[bucket]
        if entry.index is None:
            path = self.bucket_path(bucket)
            docs = read_tables(path, only=("index",)).get("index") if path.exists() else None
            entry.index = json.loads(docs[0]) if docs else dict(_EMPTY_INDEX)
        return entry.index

    def _read_bucket(self, bucket: int) -> _Bucket:
        entry = self._buckets[bucket]
        if entry.timelines is None:
            timelines: dict[str, list[str]] = {}
            path = self.bucket_path(bucket)
            if path.exists():
                tables = read_tables(path)
                texts = tables.get("events", [])
                index = json.loads(tables["index"][0]) if tables.get("index") else {}
                if not _blocks_match(index, texts):
                    # Edited by another tool: decode everything to rebuild the index.
                    events = sorted(
                        (codec.event_from_dict(json.loads(t)) for t in texts),
                        key=lambda e: e.task_id,
                    )
                    texts = [object_text(e) for e in events]
                    index = _bucket_index(events)
                position = 0
                for task_id, count in index["tasks"].items():
                    timelines[task_id] = texts[position : position + count]
                    position += count
                entry.index = index
            entry.index = entry.index or dict(_EMPTY_INDEX)
            entry.timelines = timelines
        return entry

    def _decode_timeline(self, task_id: str) -> None:
        """Bring a task's events on file into memory (once)."""
        texts = self._read_bucket(bucket_of(task_id)).timelines.pop(task_id, None)  # type: ignore[union-attr]
        if not texts:
            return
        events = self.state.events
        for text in texts:
            event = codec.event_from_dict(json.loads(text))
            # An event changed since the file was written is newer in memory.
            if event.id not in events:
                self.state.put_event(event)
                self.event_text[event.id] = text

    def events_of_task(self, task_id: str) -> list[Event]:
        self._decode_timeline(task_id)
        return self.state.events_of_task(task_id)

    def find_event(self, event_id: str) -> Event | None:
        event = self.state.events.get(event_id)
        if event is not None:
            return event
        for bucket in range(BUCKETS):
            task_id = self._index(bucket)["events"].get(event_id)
            if task_id is not None:
                self._decode_timeline(task_id)
                return self.state.events.get(event_id)
        return None

    def find_message(self, channel: str, external_id: str) -> Message | None:
        message = self.state.message_by_external_id(channel, external_id)
        if message is not None:
            return message
        key = channel + _SEP + external_id
        for bucket in range(BUCKETS):
            index = self._index(bucket)
            event_id = index["external"].get(key)
            if event_id is not None:
                self._decode_timeline(index["events"][event_id])
                return self.state.message_by_external_id(channel, external_id)
        return None

    def decode_all(self) -> None:
        with no_gc():
            for bucket in range(BUCKETS):
                for task_id in list(self._read_bucket(bucket).timelines or ()):
                    self._decode_timeline(task_id)

    def event_count(self) -> int:
        events = self.state.events
        count = len(events)
        for bucket, entry in enumerate(self._buckets):
            index = self._index(bucket)
            pending = entry.timelines
            for event_id, task_id in index["events"].items():
                undecoded = pending is None or task_id in pending
                if undecoded and event_id not in events:
                    count += 1
        return count

    # --- changes ----------------------------------------------------------------------

    def apply(self, batch: Batch, encoded: EncodedBatch | None = None) -> None:
        """Apply a committed batch; ``encoded`` gives the documents' texts if known."""
        for customer in batch.customers:
            self.customer_text.pop(customer.id, None)
        for task in batch.tasks:
            self.task_text.pop(task.id, None)
        events = self.state.events
        for event in batch.events:
            self.event_text.pop(event.id, None)
            self._dirty.add(bucket_of(event.task_id))
            old = events.get(event.id)
            if old is not None:
                self._dirty.add(bucket_of(old.task_id))
        self.state.apply(batch)
        if batch.customers:
            self.customers_dirty = True
        if encoded is not None:
            for objects, texts, cache in (
                (batch.customers, encoded.customer_texts, self.customer_text),
                (batch.tasks, encoded.task_texts, self.task_text),
                (batch.events, encoded.event_texts, self.event_text),
            ):
                cache.update(zip((o.id for o in objects), texts, strict=True))

    def take(self, task_id: str) -> MovedTask | None:
        """Remove a task and its events (to move them to history)."""
        self._decode_timeline(task_id)
        removed = self.state.remove_task(task_id)
        if removed is None:
            return None
        self._dirty.add(bucket_of(task_id))
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

    # --- checkpoints --------------------------------------------------------------------

    def files(self) -> dict[Path, dict[str, Iterable[str]]]:
        """The files a checkpoint writes: ``tasks.json`` always, the rest when changed.

        Call ``written`` once they are safely on disk.
        """
        state = self.state
        files: dict[Path, dict[str, Iterable[str]]] = {
            self.tasks_path: {
                "tasks": [cached_text(self.task_text, t) for t in state.tasks.values()],
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
            files[self.customers_path] = self._customer_tables()
        self._pending_indexes: dict[int, dict] = {}
        if self._dirty:
            by_bucket: dict[int, list[tuple[str, list[Event]]]] = {b: [] for b in self._dirty}
            for bucket in self._dirty:
                entry = self._read_bucket(bucket)
                # A task with events both in memory and on file: merge them first.
                for task_id in list(entry.timelines or ()):
                    if state.has_events(task_id):
                        self._decode_timeline(task_id)
            for task_id, events in state.timelines():
                timelines = by_bucket.get(bucket_of(task_id))
                if timelines is not None:
                    timelines.append((task_id, events))
            for bucket, timelines in by_bucket.items():
                tables, index = self._bucket_tables(bucket, timelines)
                files[self.bucket_path(bucket)] = tables
                self._pending_indexes[bucket] = index
        return files

    def _customer_tables(self) -> dict[str, Iterable[str]]:
        raw = self._read_customers()
        assert self._customer_index is not None
        known = self.state.customers
        kept = [c for c in raw if c not in known]
        kept_set = set(kept)
        identities = {
            identity: owner
            for identity, owner in self._customer_index["identities"].items()
            if owner in kept_set
        }
        texts = [raw[c] for c in kept]
        for customer in known.values():
            texts.append(cached_text(self.customer_text, customer))
            if customer.merged_into is None:
                for identity in customer.identities:
                    identities[str(identity)] = customer.id
        ids = kept + list(known)
        self._pending_customer_index = {"ids": ids, "identities": identities}
        return {"index": [_compact(self._pending_customer_index)], "customers": texts}

    def _bucket_tables(
        self, bucket: int, timelines: list[tuple[str, list[Event]]]
    ) -> tuple[dict[str, Iterable[str]], dict]:
        entry = self._read_bucket(bucket)
        old = entry.index or _EMPTY_INDEX
        kept = entry.timelines or {}
        counts: dict[str, int] = {}
        event_ids: dict[str, str] = {}
        external: dict[str, str] = {}
        texts: list[str] = []
        for task_id, events in timelines:
            counts[task_id] = len(events)
            for event in events:
                event_ids[event.id] = task_id
                if isinstance(event, Message) and event.external_id is not None:
                    external[event.channel + _SEP + event.external_id] = event.id
                texts.append(cached_text(self.event_text, event))
        # Events still undecoded are copied as they are, task by task.
        for task_id, raw in kept.items():
            counts[task_id] = len(raw)
            texts.extend(raw)
        event_ids.update((e, t) for e, t in old["events"].items() if t in kept)
        external.update((k, e) for k, e in old["external"].items() if old["events"].get(e) in kept)
        index = {"tasks": counts, "events": event_ids, "external": external}
        return {"index": [_compact(index)], "events": texts}, index

    def written(self) -> None:
        """The files of the last ``files`` call are on disk: they are now the base."""
        for bucket, index in self._pending_indexes.items():
            self._buckets[bucket].index = index
        self._pending_indexes = {}
        if self.customers_dirty and self._pending_customer_index is not None:
            self._customer_index = self._pending_customer_index
        self._pending_customer_index = None
        self._dirty.clear()
        self.customers_dirty = False


def _bucket_index(events: list[Event]) -> dict:
    """The index of a bucket holding ``events`` (grouped by task)."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event.task_id] = counts.get(event.task_id, 0) + 1
    external = {
        e.channel + _SEP + e.external_id: e.id
        for e in events
        if isinstance(e, Message) and e.external_id is not None
    }
    return {"tasks": counts, "events": {e.id: e.task_id for e in events}, "external": external}
