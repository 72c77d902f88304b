"""Closed history, sharded by the month a task was closed: ``history/YYYY-MM.json``.

Each shard file has three tables: ``catalog`` (the shard's task ids in one
document; their customers, numbers, channels and event counts in another),
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

from .batch_codec import cached_text
from .bulk_decode import tasks_from_texts
from .checkpoint import FileContent
from .state import StoreState
from .tinyfile import read_tables

_SHARD_NAME = re.compile(r"^(\d{4}-\d{2})\.json$")


def month_of(task: Task) -> str:
    """The shard a closed task belongs to: the UTC month it was closed."""
    when = task.closed_at or task.updated_at or task.created_at
    moment = time.gmtime(when)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}"


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
        # Every closed task in history -> its month. Built from the catalog
        # tables in C-speed bulk operations; the other indexes wait for use.
        self.month_of: dict[str, str] = {}
        # Each month's catalog: parsed columns, or the texts of its documents
        # (the ids are parsed when the store opens, the rest when first needed).
        self._columns: dict[str, dict | list[str]] = {}
        self._by_number: dict[int, str] | None = None
        self._by_customer: dict[str, dict[str, None]] | None = None
        self._shards: OrderedDict[str, Shard] = OrderedDict()
        self._pending_columns: dict[str, dict] = {}

    # --- the catalog ----------------------------------------------------------

    def load_catalog(self) -> None:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            match = _SHARD_NAME.match(path.name)
            if match is None:
                continue
            month = match.group(1)
            docs = read_tables(path, only=("catalog",)).get("catalog")
            if docs:
                self._columns[month] = docs
                ids = json.loads(docs[0])["ids"]
            else:  # written by another tool: work the catalog out from the shard
                columns = _catalog_columns(self.shard(month, events=True))[0]
                self._columns[month] = columns
                ids = columns["ids"]
            self.month_of.update(dict.fromkeys(ids, month))

    def _current_columns(self) -> Iterator[dict]:
        """The catalog of each month as it is now (memory for changed shards)."""
        for month in self.months():
            shard = self._shards.get(month)
            if shard is not None and shard.dirty:
                yield _catalog_columns(shard)[0]
            elif month in self._columns:
                columns = self._columns[month]
                if isinstance(columns, list):  # not parsed yet
                    merged: dict = {}
                    for text in columns:
                        merged.update(json.loads(text))
                    columns = self._columns[month] = merged
                yield columns

    def id_by_number(self, number: int) -> str | None:
        if self._by_number is None:
            self._by_number = {}
            for columns in self._current_columns():
                self._by_number.update(zip(columns["numbers"], columns["ids"], strict=True))
        return self._by_number.get(number)

    def ids_of_customer(self, customer_id: str) -> list[str]:
        if self._by_customer is None:
            self._by_customer = {}
            for columns in self._current_columns():
                for task_id, owner in zip(columns["ids"], columns["customers"], strict=True):
                    self._by_customer.setdefault(owner, {})[task_id] = None
        return list(self._by_customer.get(customer_id, ()))

    def counts(self) -> tuple[int, dict[str, int], int]:
        """Closed tasks in history, their number by channel, and their events."""
        by_channel: dict[str, int] = {}
        events = 0
        for columns in self._current_columns():
            for channel in columns["channels"]:
                by_channel[channel] = by_channel.get(channel, 0) + 1
            events += sum(columns["events"])
        return len(self.month_of), by_channel, events

    def _index(self, task: Task, month: str) -> None:
        self.month_of[task.id] = month
        if self._by_number is not None:
            self._by_number[task.number] = task.id
        if self._by_customer is not None:
            self._by_customer.setdefault(task.customer_id, {})[task.id] = None

    def _unindex(self, task: Task) -> None:
        self.month_of.pop(task.id, None)
        if self._by_number is not None and self._by_number.get(task.number) == task.id:
            del self._by_number[task.number]
        if self._by_customer is not None:
            tasks = self._by_customer.get(task.customer_id, {})
            tasks.pop(task.id, None)
            if not tasks:
                self._by_customer.pop(task.customer_id, None)

    def loaded_months(self) -> list[str]:
        return sorted(self._shards)

    def months(self) -> list[str]:
        return sorted(set(self._columns) | set(self._shards))

    # --- shards ---------------------------------------------------------------

    def shard(self, month: str, *, events: bool) -> Shard:
        """The shard of ``month``, loaded (with its events when asked)."""
        shard = self._shards.get(month)
        if shard is None:
            shard = Shard(month)
            path = self._path(month)
            if path.exists():
                tables = read_tables(path, only=("tasks",) if not events else None)
                self._load_tasks(shard, tables.get("tasks", []))
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
    def _load_tasks(shard: Shard, texts: list[str]) -> None:
        tasks = tasks_from_texts(texts)
        shard.state.load_tasks(tasks)
        shard.task_text.update(zip((t.id for t in tasks), texts, strict=True))

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
        month = self.month_of.get(task_id)
        if month is None:
            return None
        return self.shard(month, events=False).state.tasks.get(task_id)

    def events_of_task(self, task_id: str) -> list[Event] | None:
        month = self.month_of.get(task_id)
        if month is None:
            return None
        return self.shard(month, events=True).state.events_of_task(task_id)

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
        month = self.month_of.get(task_id)
        if month is None:
            return None
        shard = self.shard(month, events=True)
        removed = shard.state.remove_task(task_id)
        if removed is None:
            self.month_of.pop(task_id, None)
            return None
        task, events = removed
        self._unindex(task)
        shard.dirty = True
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
        self._index(task, month)
        shard.dirty = True

    # --- checkpoints ------------------------------------------------------------

    def dirty_files(self) -> dict[Path, FileContent]:
        """The tables of every shard with unsaved changes, by file path."""
        files: dict[Path, FileContent] = {}
        self._pending_columns = {}
        for shard in self._shards.values():
            if shard.dirty:
                columns, tasks = _catalog_columns(shard)
                self._pending_columns[shard.month] = columns
                events = [e for t in tasks for e in shard.state.events_of_task(t.id)]
                files[self._path(shard.month)] = {
                    # The ids first, in a document of their own: opening reads only them.
                    "catalog": [
                        json.dumps({"ids": columns["ids"]}, separators=(",", ":")),
                        json.dumps(
                            {k: v for k, v in columns.items() if k != "ids"},
                            separators=(",", ":"),
                        ),
                    ],
                    "tasks": [cached_text(shard.task_text, t) for t in tasks],
                    "events": [cached_text(shard.event_text, e) for e in events],
                }
        return files

    def written(self) -> None:
        """The files of the last ``dirty_files`` call are on disk."""
        self._columns.update(self._pending_columns)
        self._pending_columns = {}
        for shard in self._shards.values():
            shard.dirty = False
        self._evict()


def _catalog_columns(shard: Shard) -> tuple[dict, list[Task]]:
    """A shard's catalog table (in columns) and its tasks in the order written."""
    tasks = sorted(shard.state.tasks.values(), key=lambda t: (t.closed_at or 0.0, t.id))
    columns = {
        "ids": [t.id for t in tasks],
        "customers": [t.customer_id for t in tasks],
        "numbers": [t.number for t in tasks],
        "channels": [t.channel for t in tasks],
        "events": [len(shard.state.events_of_task(t.id)) for t in tasks],
    }
    return columns, tasks
