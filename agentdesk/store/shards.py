"""Closed history, sharded by the month a task was closed: ``history/YYYY-MM.json``.

Each shard file has three tables: ``catalog`` (one document listing the
shard's tasks in columns: ids, customers, numbers, channels, event counts),
``tasks`` and ``events``. Opening the store reads only the catalog tables, so
it knows which shard holds which task without loading any; a shard's tasks
and its events are each loaded on first use. Loaded shards that have no
unsaved change are dropped again, least recently used first, to bound memory.

A task lives in exactly one place: the hot data or one shard. The store moves
a closed task here at a checkpoint, and back to the hot data when a change
touches it.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.domain import Event, Task, codec

from .batch_codec import object_text
from .state import StoreState
from .tinyfile import read_tables

_SHARD_NAME = re.compile(r"^(\d{4}-\d{2})\.json$")


def month_of(task: Task) -> str:
    """The shard a closed task belongs to: the UTC month it was closed."""
    when = task.closed_at or task.updated_at or task.created_at
    moment = time.gmtime(when)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    month: str
    customer_id: str
    number: int
    channel: str
    events: int


@dataclass(slots=True)
class MovedTask:
    """A task with its events on its way between the hot data and a shard.

    The texts are the documents' JSON when known, so moving costs no encoding.
    """

    task: Task
    events: list[Event]
    task_text: str | None = None
    event_texts: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Shard:
    """One month of closed tasks in memory, with the text of each document."""

    month: str
    state: StoreState = field(default_factory=StoreState)
    task_text: dict[str, str] = field(default_factory=dict)
    event_text: dict[str, str] = field(default_factory=dict)
    events_loaded: bool = False
    dirty: bool = False


class History:
    """The catalog of closed tasks and the month shards, loaded lazily."""

    def __init__(self, directory: Path, *, max_loaded: int = 6) -> None:
        self.directory = directory
        self._max_loaded = max_loaded
        self.catalog: dict[str, CatalogEntry] = {}
        self._by_number: dict[int, str] = {}
        self._by_customer: dict[str, dict[str, None]] = {}
        self._shards: OrderedDict[str, Shard] = OrderedDict()

    # --- the catalog ----------------------------------------------------------

    def load_catalog(self) -> None:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            match = _SHARD_NAME.match(path.name)
            if match is None:
                continue
            month = match.group(1)
            for text in read_tables(path, only=("catalog",)).get("catalog", ()):
                columns = json.loads(text)
                for task_id, customer_id, number, channel, events in zip(
                    columns["ids"],
                    columns["customers"],
                    columns["numbers"],
                    columns["channels"],
                    columns["events"],
                    strict=True,
                ):
                    self._index(task_id, CatalogEntry(month, customer_id, number, channel, events))

    def _index(self, task_id: str, entry: CatalogEntry) -> None:
        self.catalog[task_id] = entry
        self._by_number[entry.number] = task_id
        self._by_customer.setdefault(entry.customer_id, {})[task_id] = None

    def _unindex(self, task_id: str) -> None:
        entry = self.catalog.pop(task_id)
        if self._by_number.get(entry.number) == task_id:
            del self._by_number[entry.number]
        tasks = self._by_customer.get(entry.customer_id, {})
        tasks.pop(task_id, None)
        if not tasks:
            self._by_customer.pop(entry.customer_id, None)

    def id_by_number(self, number: int) -> str | None:
        return self._by_number.get(number)

    def ids_of_customer(self, customer_id: str) -> list[str]:
        return list(self._by_customer.get(customer_id, ()))

    def loaded_months(self) -> list[str]:
        return sorted(self._shards)

    def months(self) -> list[str]:
        return sorted({entry.month for entry in self.catalog.values()} | set(self._shards))

    # --- shards ---------------------------------------------------------------

    def shard(self, month: str, *, events: bool) -> Shard:
        """The shard of ``month``, loaded (with its events when asked)."""
        shard = self._shards.get(month)
        if shard is None:
            shard = Shard(month)
            path = self._path(month)
            if path.exists():
                tables = read_tables(path, only=("tasks",) if not events else None)
                self._load_tasks(shard, tables.get("tasks", ()))
                if events:
                    self._load_events(shard, tables.get("events", ()))
            else:
                shard.events_loaded = True
            self._shards[month] = shard
        elif events and not shard.events_loaded:
            tables = read_tables(self._path(month), only=("events",))
            self._load_events(shard, tables.get("events", ()))
        self._shards.move_to_end(month)
        self._evict(keep=month)
        return shard

    def _path(self, month: str) -> Path:
        return self.directory / f"{month}.json"

    @staticmethod
    def _load_tasks(shard: Shard, texts: Iterable[str]) -> None:
        for text in texts:
            task = codec.task_from_dict(json.loads(text))
            shard.state.put_task(task)
            shard.task_text[task.id] = text

    @staticmethod
    def _load_events(shard: Shard, texts: Iterable[str]) -> None:
        for text in texts:
            event = codec.event_from_dict(json.loads(text))
            shard.state.put_event(event)
            shard.event_text[event.id] = text
        shard.events_loaded = True

    def _evict(self, keep: str | None = None) -> None:
        clean = [m for m, s in self._shards.items() if not s.dirty and m != keep]
        excess = len(self._shards) - self._max_loaded
        for month in clean[: max(0, excess)]:
            del self._shards[month]

    # --- reads ----------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        entry = self.catalog.get(task_id)
        if entry is None:
            return None
        return self.shard(entry.month, events=False).state.tasks.get(task_id)

    def events_of_task(self, task_id: str) -> list[Event] | None:
        entry = self.catalog.get(task_id)
        if entry is None:
            return None
        return self.shard(entry.month, events=True).state.events_of_task(task_id)

    def loaded_states(self) -> list[StoreState]:
        """The states of the shards whose events are in memory."""
        return [s.state for s in self._shards.values() if s.events_loaded]

    def tasks(self) -> Iterator[Task]:
        for month in self.months():
            yield from list(self.shard(month, events=False).state.tasks.values())

    def iter_events(self) -> Iterator[Event]:
        """Every event of the history, shard by shard, without keeping them loaded."""
        for month in self.months():
            loaded = self._shards.get(month)
            if loaded is not None and loaded.events_loaded:
                yield from list(loaded.state.iter_events())
                continue
            path = self._path(month)
            if path.exists():
                for text in read_tables(path).get("events", ()):
                    yield codec.event_from_dict(json.loads(text))

    # --- moving tasks in and out ------------------------------------------------

    def take(self, task_id: str) -> MovedTask | None:
        """Remove a task (and its events) from history."""
        entry = self.catalog.get(task_id)
        if entry is None:
            return None
        shard = self.shard(entry.month, events=True)
        removed = shard.state.remove_task(task_id)
        self._unindex(task_id)
        shard.dirty = True
        if removed is None:
            return None
        task, events = removed
        event_texts = {e.id: shard.event_text.pop(e.id) for e in events if e.id in shard.event_text}
        return MovedTask(task, events, shard.task_text.pop(task_id, None), event_texts)

    def put(self, moved: MovedTask) -> None:
        """Add a closed task with its events to the shard of the month it closed."""
        task = moved.task
        month = month_of(task)
        shard = self.shard(month, events=True)
        shard.state.add_task(task, moved.events)
        if moved.task_text is not None:
            shard.task_text[task.id] = moved.task_text
        shard.event_text.update(moved.event_texts)
        entry = CatalogEntry(month, task.customer_id, task.number, task.channel, len(moved.events))
        self._index(task.id, entry)
        shard.dirty = True

    # --- checkpoints ------------------------------------------------------------

    def dirty_files(self) -> dict[Path, dict[str, Iterable[str]]]:
        """The tables of every shard with unsaved changes, by file path."""
        files: dict[Path, dict[str, Iterable[str]]] = {}
        for shard in self._shards.values():
            if shard.dirty:
                files[self._path(shard.month)] = _shard_tables(shard)
        return files

    def mark_clean(self) -> None:
        for shard in self._shards.values():
            shard.dirty = False
        self._evict()


def _shard_tables(shard: Shard) -> dict[str, Iterable[str]]:
    tasks = sorted(shard.state.tasks.values(), key=lambda t: (t.closed_at or 0.0, t.id))
    columns: dict[str, list] = {
        "ids": [],
        "customers": [],
        "numbers": [],
        "channels": [],
        "events": [],
    }
    task_texts: list[str] = []
    event_texts: list[str] = []
    for task in tasks:
        events = shard.state.events_of_task(task.id)
        columns["ids"].append(task.id)
        columns["customers"].append(task.customer_id)
        columns["numbers"].append(task.number)
        columns["channels"].append(task.channel)
        columns["events"].append(len(events))
        task_texts.append(_text(shard.task_text, task))
        event_texts.extend(_text(shard.event_text, event) for event in events)
    return {
        "catalog": [json.dumps(columns, separators=(",", ":"))],
        "tasks": task_texts,
        "events": event_texts,
    }


def _text(cache: dict[str, str], obj: Task | Event) -> str:
    text = cache.get(obj.id)
    if text is None:
        text = cache[obj.id] = object_text(obj)
    return text
