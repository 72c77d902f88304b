"""The hot data: what the desk works on, kept in memory.

Files under ``hot/``:

- ``tasks.json``: open, pending and recently closed tasks, the outbox,
  plugin state and meta. Read and decoded when the store opens: this is what
  the inbox needs.
- ``customers.json``: customers, read on first use (see ``customers``).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.domain import Event, Message, codec

from .batch_codec import EncodedBatch, cached_text, object_text
from .buckets import (
    COUNT,
    SEP,
    BucketFile,
    Lookup,
    Timeline,
    build_bucket,
    can_append,
    external_keys,
    format_bucket,
    read_bucket,
    read_index,
)
from .bulk_decode import tasks_from_texts
from .checkpoint import FileContent
from .customers import CustomerFile
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
class _Bucket:
    """What is known of one events file: its index once read, its text once
    needed, and the tasks whose events there are not decoded yet."""

    index: dict | None = None
    file: BucketFile | None = None
    undecoded: set[str] = field(default_factory=set)
    lookup: Lookup | None = None


class Hot:
    """The hot part of a store: one ``StoreState`` and the files it comes from."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state = StoreState()
        self.task_text: dict[str, str] = {}
        self.event_text: dict[str, str] = {}
        self.customers = CustomerFile(directory / "customers.json", self.state)
        self._buckets = [_Bucket() for _ in range(BUCKETS)]
        self._dirty: set[int] = set()
        # What the files being written by a checkpoint hold, in force once written.
        self._pending_buckets: dict[int, BucketFile] = {}
        self._pending_appended: list[str] = []
        self._pending_decoded: list[str] = []
        # Channel message key -> the bucket whose file holds it, over every
        # bucket: a new message (the common case) is known absent in one look.
        self._external_bucket: dict[str, int] | None = None

    @property
    def tasks_path(self) -> Path:
        return self.directory / "tasks.json"

    def bucket_path(self, bucket: int) -> Path:
        return self.directory / f"events-{bucket:02x}.json"

    def size_on_disk(self) -> int:
        """The bytes of the hot files (what a checkpoint rewrites, at most)."""
        return sum(p.stat().st_size for p in self.directory.glob("*.json"))

    @property
    def dirty(self) -> bool:
        return bool(self._dirty) or self.customers.dirty

    # --- tasks, outbox, state, meta -----------------------------------------------

    def load(self) -> None:
        """Read ``tasks.json``: tasks, outbox, plugin state and meta."""
        if not self.tasks_path.exists():
            return
        tables = read_tables(self.tasks_path)
        with no_gc():
            texts = tables.get("tasks", [])
            tasks = tasks_from_texts(texts)
            self.state.load_tasks(tasks)
            self.task_text.update(zip((t.id for t in tasks), texts, strict=True))
            for text in tables.get("outbox", ()):
                entry = codec.outbox_from_dict(json.loads(text))
                self.state.outbox[entry.key] = entry
            for text in tables.get("state", ()):
                doc = json.loads(text)
                self.state.set_state(doc["namespace"], doc["key"], doc["value"])
            for text in tables.get("meta", ()):
                doc = json.loads(text)
                self.state.meta[doc["key"]] = doc["value"]

    # --- events -------------------------------------------------------------------------

    def _index(self, bucket: int) -> dict:
        entry = self._buckets[bucket]
        if entry.index is None:
            entry.index = read_index(self.bucket_path(bucket))
        return entry.index

    def _read_bucket(self, bucket: int) -> _Bucket:
        entry = self._buckets[bucket]
        if entry.file is None:
            entry.file = read_bucket(self.bucket_path(bucket))
            entry.index = entry.file.index
            entry.undecoded = set(entry.index["tasks"])
        return entry

    def _decode_timeline(self, task_id: str) -> None:
        """Bring a task's events on file into memory (once)."""
        entry = self._read_bucket(bucket_of(task_id))
        if task_id not in entry.undecoded:
            return
        entry.undecoded.discard(task_id)
        events = self.state.events
        for text in entry.file.block(task_id):  # type: ignore[union-attr]
            event = codec.event_from_dict(json.loads(text))
            # An event changed since the file was written is newer in memory.
            if event.id not in events:
                self.state.put_event(event)
                self.event_text[event.id] = text

    def events_of_task(self, task_id: str) -> list[Event]:
        self._decode_timeline(task_id)
        return self.state.events_of_task(task_id)

    def _lookup(self, bucket: int) -> Lookup:
        entry = self._buckets[bucket]
        if entry.lookup is None:
            entry.lookup = Lookup.of(self._index(bucket))
        return entry.lookup

    def find_event(self, event_id: str) -> Event | None:
        event = self.state.events.get(event_id)
        if event is not None:
            return event
        for bucket in range(BUCKETS):
            task_id = self._lookup(bucket).event_task.get(event_id)
            if task_id is not None:
                self._decode_timeline(task_id)
                return self.state.events.get(event_id)
        return None

    def find_message(self, channel: str, external_id: str) -> Message | None:
        message = self.state.message_by_external_id(channel, external_id)
        if message is not None:
            return message
        key = channel + SEP + external_id
        if self._external_bucket is None:
            self._external_bucket = {}
            for bucket in range(BUCKETS):
                self._note_external(bucket)
        bucket = self._external_bucket.get(key)
        if bucket is None:
            return None
        lookup = self._lookup(bucket)
        event_id = lookup.external.get(key)
        if event_id is None:
            return None
        self._decode_timeline(lookup.event_task[event_id])
        return self.state.message_by_external_id(channel, external_id)

    def _note_external(self, bucket: int) -> None:
        # A key whose message left the bucket since stays mapped to it; the
        # bucket's own lookup then says it is not there.
        assert self._external_bucket is not None
        self._external_bucket.update(dict.fromkeys(external_keys(self._index(bucket)), bucket))

    def decode_all(self) -> None:
        with no_gc():
            for bucket in range(BUCKETS):
                for task_id in list(self._read_bucket(bucket).undecoded):
                    self._decode_timeline(task_id)

    def event_count(self) -> int:
        count = 0
        for bucket, entry in enumerate(self._buckets):
            tasks = self._index(bucket)["tasks"]
            pending = entry.undecoded if entry.file is not None else tasks
            for task_id in list(pending):
                if self.state.has_events(task_id):
                    self._decode_timeline(task_id)  # counted in memory, once
            for task_id in entry.undecoded if entry.file is not None else tasks:
                count += tasks[task_id][COUNT]
        return count + len(self.state.events)

    # --- changes ----------------------------------------------------------------------

    def apply(self, batch: Batch, encoded: EncodedBatch | None = None) -> None:
        """Apply a committed batch; ``encoded`` gives the documents' texts if known."""
        events = self.state.events
        dirty = self._dirty
        for event in batch.events:
            dirty.add(bucket_of(event.task_id))
            old = events.get(event.id)
            if old is not None and old.task_id != event.task_id:
                dirty.add(bucket_of(old.task_id))
        self.state.apply(batch)
        self.customers.changed(batch.customers, encoded.customer_texts if encoded else None)
        if encoded is None:
            for task in batch.tasks:
                self.task_text.pop(task.id, None)
            for event in batch.events:
                self.event_text.pop(event.id, None)
        else:
            self.task_text.update(zip((t.id for t in batch.tasks), encoded.task_texts, strict=True))
            self.event_text.update(
                zip((e.id for e in batch.events), encoded.event_texts, strict=True)
            )

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

    def files(self) -> dict[Path, FileContent]:
        """The files a checkpoint writes: ``tasks.json`` always, the rest when changed.

        Call ``written`` once they are safely on disk.
        """
        state = self.state
        files: dict[Path, FileContent] = {
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
        if self.customers.dirty:
            files[self.customers.path] = self.customers.tables()
        self._pending_buckets = {}
        self._pending_appended = []
        self._pending_decoded = []
        if self._dirty:
            files.update(self._bucket_files())
        return files

    def _bucket_files(self) -> dict[Path, FileContent]:
        state = self.state
        decoded: dict[int, list[Timeline]] = {b: [] for b in self._dirty}
        appended: dict[int, list[Timeline]] = {b: [] for b in self._dirty}
        for bucket in self._dirty:
            entry = self._read_bucket(bucket)
            tasks = entry.index["tasks"]  # type: ignore[index]
            # A task with events both in memory and on file: new events after
            # its block are appended to it; anything else merges in memory.
            for task_id in list(entry.undecoded):
                if not state.has_events(task_id):
                    continue
                events = state.events_of_task(task_id)
                if can_append(tasks[task_id], events):
                    texts = [(e, cached_text(self.event_text, e)) for e in events]
                    appended[bucket].append((task_id, texts))
                    self._pending_appended.append(task_id)
                else:
                    self._decode_timeline(task_id)
        appending = set(self._pending_appended)
        for task_id, events in state.timelines():
            timelines = decoded.get(bucket_of(task_id))
            if timelines is not None and task_id not in appending:
                timelines.append((task_id, [(e, cached_text(self.event_text, e)) for e in events]))
                self._pending_decoded.append(task_id)
        files: dict[Path, FileContent] = {}
        for bucket in self._dirty:
            entry = self._buckets[bucket]
            assert entry.file is not None
            kept = sorted(entry.undecoded - appending)
            built = build_bucket(entry.file, decoded[bucket], kept, appended[bucket])
            files[self.bucket_path(bucket)] = format_bucket(built)
            self._pending_buckets[bucket] = built
        return files

    def written(self) -> None:
        """The files of the last ``files`` call are on disk: they are now the base."""
        for bucket, built in self._pending_buckets.items():
            entry = self._buckets[bucket]
            entry.file, entry.index, entry.lookup = built, built.index, None
            if self._external_bucket is not None:
                self._note_external(bucket)
        self._pending_buckets = {}
        # Events appended to a block on file need not stay decoded in memory
        # (unless a reader decoded the timeline while the files were written).
        for task_id in self._pending_appended:
            if task_id in self._buckets[bucket_of(task_id)].undecoded:
                for event in self.state.remove_events(task_id):
                    self.event_text.pop(event.id, None)
        self._pending_appended = []
        # Nor need timelines written whole: on file they are copied as they
        # are by the next checkpoint, instead of encoded again at every one.
        # (No commit runs between ``files`` and ``written``: memory still
        # holds exactly what was written.)
        for task_id in self._pending_decoded:
            entry = self._buckets[bucket_of(task_id)]
            if task_id in entry.index["tasks"] and task_id not in entry.undecoded:  # type: ignore[index]
                for event in self.state.remove_events(task_id):
                    self.event_text.pop(event.id, None)
                entry.undecoded.add(task_id)
        self._pending_decoded = []
        self.customers.written()
        self._dirty.clear()
