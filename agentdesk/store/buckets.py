"""Event bucket files: ``hot/events-XX.json``.

A bucket holds the events of the hot tasks whose id hashes to it, one block
of lines per task::

    {"index":{
    "1":{"tasks":{"T1":[2,0,310,1700000001.0,"E2",["E1","E2"],{"mail\\u001f<m1>":"E1"}]},"next":3}
    },
    "events":{
    "1":{"id":"E1","task_id":"T1",...},
    "2":{"id":"E2","task_id":"T1",...}
    }}

For each task the ``index`` document gives: its event count, where its block
lies in the ``events`` table (character offsets), the time and id of its last
event, its event ids, and its channel message ids. So a timeline is decoded
from its block alone, a lookup reads only the index, and a rewrite copies the
blocks of untouched tasks as text and adds new events after a block without
decoding it. Document ids are unique but not consecutive, which TinyDB accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.domain import Event, Message, codec

from .batch_codec import object_text, plain_text
from .tinyfile import read_tables

SEP = "\x1f"  # between a channel and its message id in index keys
_HEAD = '{"index":{\n"1":'
_EVENTS = '\n},\n"events":{\n'
_END = "}}\n"
# Positions in a task's index entry.
COUNT, START, END, LAST_AT, LAST_ID, EVENT_IDS, EXTERNAL = range(7)
# Event ids, and channel message ids with their event ids, are kept in one
# string per task, joined by this separator: the index then parses as a few
# long strings rather than a quarter of a million short ones. Ids holding the
# separator itself are kept as a list (or a mapping) instead.
_JOIN = "\x1e"


def _pack_ids(ids: list[str]) -> str | list[str]:
    return ids if any(_JOIN in i for i in ids) else _JOIN.join(ids)


def _unpack_ids(packed: str | list[str]) -> list[str]:
    if isinstance(packed, list):
        return packed
    return packed.split(_JOIN) if packed else []


def _pack_external(external: dict[str, str]) -> str | dict[str, str]:
    if any(_JOIN in k or _JOIN in v for k, v in external.items()):
        return external
    return _JOIN.join(f"{k}{_JOIN}{v}" for k, v in external.items())


def _unpack_external(packed: str | dict[str, str]) -> dict[str, str]:
    if isinstance(packed, dict):
        return packed
    items = packed.split(_JOIN) if packed else []
    return dict(zip(items[::2], items[1::2], strict=True))


def external_keys(index: dict) -> list[str]:
    """Every channel message key a bucket's index holds."""
    return [key for spec in index["tasks"].values() for key in _unpack_external(spec[EXTERNAL])]


Timeline = tuple[str, list[tuple[Event, str]]]  # task id, its events with their texts


def empty_index() -> dict:
    return {"tasks": {}, "next": 1}


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
        docs = []
        for line in self.body[spec[START] : spec[END]].split("\n"):
            if line:
                text = line[line.index(":") + 1 :]
                docs.append(text[:-1] if text.endswith(",") else text)
        return docs


@dataclass(slots=True)
class Lookup:
    """Where each event and each channel message id of a bucket is."""

    event_task: dict[str, str]
    external: dict[str, str]

    @classmethod
    def of(cls, index: dict) -> Lookup:
        event_task: dict[str, str] = {}
        external: dict[str, str] = {}
        for task_id, spec in index["tasks"].items():
            event_task.update(dict.fromkeys(_unpack_ids(spec[EVENT_IDS]), task_id))
            external.update(_unpack_external(spec[EXTERNAL]))
        return cls(event_task, external)


def read_index(path: Path) -> dict:
    if not path.exists():
        return empty_index()
    docs = read_tables(path, only=("index",)).get("index")
    index = json.loads(docs[0]) if docs else {}
    return index if _usable(index) else _read_slow(path).index


def read_bucket(path: Path) -> BucketFile:
    if not path.exists():
        return BucketFile()
    with open(path, "rb") as source:
        data = source.read().decode("utf-8")
    split = data.find(_EVENTS)
    if data.startswith(_HEAD) and split > 0 and data.endswith(_END):
        try:
            index = json.loads(data[len(_HEAD) : split])
        except ValueError:
            index = None
        if index and _usable(index):
            bucket = BucketFile(index, data[split + len(_EVENTS) : -len(_END)])
            if _blocks_match(bucket):
                return bucket
    return _read_slow(path)


def _usable(index: dict) -> bool:
    return "tasks" in index and "next" in index


def _blocks_match(bucket: BucketFile) -> bool:
    """Whether the index still describes the body (not after an edit by another tool)."""
    body = bucket.body
    covered = 0
    for task_id, spec in bucket.index["tasks"].items():
        start, end = spec[START], spec[END]
        if start != covered or body.count("\n", start, end) != spec[COUNT]:
            return False
        head = min(end, start + 600)
        if (
            body.find(f'"task_id":"{task_id}"', start, head) < 0
            and body.find(f'"task_id":{json.dumps(task_id)}', start, head) < 0
        ):
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
    for timeline in timelines.values():
        timeline.sort(key=lambda e: (e.at, e.id))
    decoded = [(t, [(e, object_text(e)) for e in evs]) for t, evs in timelines.items()]
    return build_bucket(BucketFile(), decoded, (), ())


def can_append(spec: list, events: list[Event]) -> bool:
    """Whether ``events`` (time order) all come after a task's block and are new."""
    if not events or (events[0].at, events[0].id) <= (spec[LAST_AT], spec[LAST_ID]):
        return False
    on_file = set(_unpack_ids(spec[EVENT_IDS]))
    return not any(event.id in on_file for event in events)


def build_bucket(
    old: BucketFile,
    decoded: Iterable[Timeline],
    kept: Iterable[str],
    appended: Iterable[Timeline],
) -> BucketFile:
    """A new bucket from ``old``: whole ``decoded`` timelines, the blocks of the
    ``kept`` tasks copied as they are, and ``appended`` events after their
    task's old block."""
    old_tasks = old.index["tasks"]
    state = _Builder(old.index["next"])
    for task_id, events in decoded:
        state.add(task_id, "", events)
    for task_id in kept:
        spec = old_tasks[task_id]
        state.add(task_id, _old_block(old, spec), [], spec)
    for task_id, events in appended:
        spec = old_tasks[task_id]
        state.add(task_id, _old_block(old, spec), events, spec)
    return state.finish()


def _old_block(old: BucketFile, spec: list) -> str:
    block = old.body[spec[START] : spec[END]]
    return block if block.endswith(",\n") else block[:-1] + ",\n"  # was the table's last


class _Builder:
    def __init__(self, next_id: int) -> None:
        self.next_id = next_id
        self.tasks: dict[str, list] = {}
        self.parts: list[str] = []
        self.size = 0

    def add(
        self,
        task_id: str,
        block: str,
        events: list[tuple[Event, str]],
        spec: list | None = None,
    ) -> None:
        """Add a task: its old ``block`` (with its index ``spec``) and/or new ``events``."""
        text = block
        event_ids: str | list[str] = spec[EVENT_IDS] if spec else ""
        external: str | dict[str, str] = spec[EXTERNAL] if spec else ""
        last_at, last_id = (spec[LAST_AT], spec[LAST_ID]) if spec else (0.0, "")
        if events:
            lines = [block]
            ids = _unpack_ids(event_ids)
            keys = _unpack_external(external)
            for event, doc in events:
                lines.append(f'"{self.next_id}":{doc},\n')
                self.next_id += 1
                ids.append(event.id)
                key = external_key(event)
                if key is not None:
                    keys[key] = event.id
            last_at, last_id = events[-1][0].at, events[-1][0].id
            text = "".join(lines)
            event_ids, external = _pack_ids(ids), _pack_external(keys)
        count = (spec[COUNT] if spec else 0) + len(events)
        end = self.size + len(text)
        self.tasks[task_id] = [count, self.size, end, last_at, last_id, event_ids, external]
        self.parts.append(text)
        self.size = end

    def finish(self) -> BucketFile:
        body = "".join(self.parts)
        if body:
            body = body[:-2] + "\n"  # no comma after the table's last document
            for spec in reversed(self.tasks.values()):
                if spec[END] == self.size:  # the block that ends the table
                    spec[END] -= 1
                    break
        return BucketFile({"tasks": self.tasks, "next": self.next_id}, body)


def format_bucket(bucket: BucketFile) -> str:
    index = plain_text(bucket.index)
    return _HEAD + index + _EVENTS + bucket.body + _END
