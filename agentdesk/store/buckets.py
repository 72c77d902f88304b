"""Event bucket files: ``hot/events-XX.json``.

A bucket holds the events of the hot tasks whose id hashes to it, one block
of lines per task::

    {"index":{
    "1":{"tasks":{"T1":[2,0,310]},"events":{"E1":"T1","E2":"T1"},"external":{...},"next":3}
    },
    "events":{
    "1":{"id":"E1","task_id":"T1",...},
    "2":{"id":"E2","task_id":"T1",...}
    }}

The ``index`` document gives each task's event count and where its block
lies in the ``events`` table (character offsets), every event's task, every
channel message id's event, and the next free document id. So a timeline is
decoded from its block alone, a lookup reads only the index, and a rewrite
copies the blocks of the tasks it did not touch as text. Document ids are
unique but not consecutive, which TinyDB accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.domain import Event, Message, codec

from .batch_codec import object_text
from .tinyfile import read_tables

SEP = "\x1f"  # between a channel and its message id in index keys
_HEAD = '{"index":{\n"1":'
_EVENTS = '\n},\n"events":{\n'
_END = "}}\n"


def empty_index() -> dict:
    return {"tasks": {}, "events": {}, "external": {}, "next": 1}


def external_key(event: Event) -> str | None:
    if isinstance(event, Message) and event.external_id is not None:
        return event.channel + SEP + event.external_id
    return None


@dataclass(slots=True)
class BucketFile:
    """A bucket as text: its index and the body of its ``events`` table."""

    index: dict = field(default_factory=empty_index)
    body: str = ""

    def block(self, task_id: str) -> list[str]:
        """The document texts of a task's events, in order."""
        spec = self.index["tasks"].get(task_id)
        if spec is None:
            return []
        _, start, end = spec
        docs = []
        for line in self.body[start:end].split("\n"):
            if line:
                text = line[line.index(":") + 1 :]
                docs.append(text[:-1] if text.endswith(",") else text)
        return docs


def read_index(path: Path) -> dict:
    if not path.exists():
        return empty_index()
    docs = read_tables(path, only=("index",)).get("index")
    index = json.loads(docs[0]) if docs else {}
    return index if _usable(index) else _read_slow(path).index


def read_bucket(path: Path) -> BucketFile:
    if not path.exists():
        return BucketFile()
    with open(path, encoding="utf-8") as source:
        data = source.read()
    split = data.find(_EVENTS)
    if data.startswith(_HEAD) and split > 0 and data.endswith(_END):
        try:
            index = json.loads(data[len(_HEAD) : split])
        except ValueError:
            index = None
        bucket = BucketFile(index, data[split + len(_EVENTS) : -len(_END)]) if index else None
        if bucket is not None and _usable(index) and _blocks_match(bucket):
            return bucket
    return _read_slow(path)


def _usable(index: dict) -> bool:
    return all(key in index for key in ("tasks", "events", "external", "next"))


def _blocks_match(bucket: BucketFile) -> bool:
    """Whether the index still describes the body (not after an edit by another tool)."""
    body = bucket.body
    covered = 0
    for task_id, (count, start, end) in bucket.index["tasks"].items():
        if start != covered or body.count("\n", start, end) != count:
            return False
        if body.find(f'"task_id":{json.dumps(task_id)}', start, min(end, start + 600)) < 0:
            return False
        covered = end
    return covered == len(body)


def _read_slow(path: Path) -> BucketFile:
    """Read a bucket some other tool rewrote: decode every event, rebuild the index."""
    events = [
        codec.event_from_dict(json.loads(text))
        for text in read_tables(path, only=("events",)).get("events", ())
    ]
    timelines: dict[str, list[Event]] = {}
    for event in events:
        timelines.setdefault(event.task_id, []).append(event)
    return build_bucket(
        BucketFile(), [(t, [(e, object_text(e)) for e in evs]) for t, evs in timelines.items()], ()
    )


def build_bucket(
    old: BucketFile,
    decoded: Iterable[tuple[str, list[tuple[Event, str]]]],
    kept: Iterable[str],
) -> BucketFile:
    """A new bucket: the ``decoded`` timelines (events with their texts), then the
    blocks of ``old`` for the ``kept`` tasks, copied as they are."""
    old_tasks = old.index["tasks"]
    next_id = old.index["next"]
    tasks: dict[str, list[int]] = {}
    event_ids: dict[str, str] = {}
    external: dict[str, str] = {}
    parts: list[str] = []
    size = 0
    for task_id, events in decoded:
        lines = []
        for event, text in events:
            lines.append(f'"{next_id}":{text},\n')
            next_id += 1
            event_ids[event.id] = task_id
            key = external_key(event)
            if key is not None:
                external[key] = event.id
        block = "".join(lines)
        tasks[task_id] = [len(events), size, size + len(block)]
        parts.append(block)
        size += len(block)
    kept_set = set()
    for task_id in kept:
        count, start, end = old_tasks[task_id]
        block = old.body[start:end]
        if not block.endswith(",\n"):  # it was the table's last block
            block = block[:-1] + ",\n"
        tasks[task_id] = [count, size, size + len(block)]
        parts.append(block)
        size += len(block)
        kept_set.add(task_id)
    old_events = old.index["events"]
    event_ids.update((e, t) for e, t in old_events.items() if t in kept_set)
    external.update(
        (k, e) for k, e in old.index["external"].items() if old_events.get(e) in kept_set
    )
    body = "".join(parts)
    if body:
        body = body[:-2] + "\n"  # no comma after the table's last document
        for spec in reversed(tasks.values()):
            if spec[2] == size:  # the block that ends the table
                spec[2] -= 1
                break
    index = {"tasks": tasks, "events": event_ids, "external": external, "next": next_id}
    return BucketFile(index, body)


def format_bucket(bucket: BucketFile) -> str:
    index = json.dumps(bucket.index, separators=(",", ":"))
    return _HEAD + index + _EVENTS + bucket.body + _END
