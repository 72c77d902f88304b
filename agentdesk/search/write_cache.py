"""What the write path remembers between groups, so that most changes need no read.

Everything here mirrors rows of the index file as the open transaction sees
them (or, for the trigram changes, is written before it commits). The index
drops it all whenever that transaction rolls back or the file is replaced,
and it is read again from the file on next use, so it never disagrees with
the file.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .grams import PendingGrams

K = TypeVar("K")
V = TypeVar("V")

# Entries per map: enough for the tasks and customers active for a good
# while, at a few hundred bytes each.
CACHE_SIZE = 50_000


@dataclass(slots=True)
class TaskRow:
    """A task as the index holds it."""

    rid: int
    # None: the task has a key (an event named it) but no row yet.
    fingerprint: str | None = None
    customer_rid: int = 0
    doc: int = 0
    last_activity: float = 0.0


@dataclass(slots=True)
class CustomerRow:
    """A customer as the index holds it."""

    rid: int
    fingerprint: str


@dataclass(slots=True)
class FileMarks:
    """High-water marks of the file, and the tasks waiting for a refresh."""

    # Greatest customers.rid and task_keys.rid: new rows take the next ones,
    # as SQLite itself would number them.
    customer_rid: int
    task_rid: int
    # An upper bound of tasks.doc: a row id above it is free.
    doc: int | None
    # Greatest texts.event_id: an id above it is not in the index.
    event_id: str | None
    # The row ids in the ``dirty`` table.
    dirty: set[int] = field(default_factory=set)

    @classmethod
    def read(cls, db: sqlite3.Connection) -> FileMarks:
        return cls(
            customer_rid=db.execute("SELECT max(rid) FROM customers").fetchone()[0] or 0,
            task_rid=db.execute("SELECT max(rid) FROM task_keys").fetchone()[0] or 0,
            doc=db.execute("SELECT max(doc) FROM tasks").fetchone()[0],
            event_id=db.execute("SELECT max(event_id) FROM texts").fetchone()[0],
            dirty={rid for (rid,) in db.execute("SELECT rid FROM dirty")},
        )


class Lru(Generic[K, V]):
    """A map that forgets its least recently used entries past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class WriteCache:
    """Rows and marks of the index file, kept between groups of writes."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.tasks: Lru[str, TaskRow] = Lru(size)
        self.customers: Lru[str, CustomerRow] = Lru(size)
        # Pieces of text whose words are in the lexicon (see lexicon.unseen).
        self.fed: set[str] = set()
        # Trigram changes the file does not hold yet: dropped with the rest.
        self.grams = PendingGrams()
        self._marks: FileMarks | None = None
        self._version: int | None = None

    def follow(self, db: sqlite3.Connection) -> bool:
        """Forget everything if another connection changed the file since the
        last call (call it before opening a transaction); True if it did."""
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return False
        changed = self._version is not None
        self.drop()
        self._version = version
        return changed

    def marks(self, db: sqlite3.Connection) -> FileMarks:
        if self._marks is None:
            self._marks = FileMarks.read(db)
        return self._marks

    def drop(self) -> None:
        """Forget everything (after a rollback, or when the file is replaced)."""
        self.tasks.clear()
        self.customers.clear()
        self.fed.clear()
        self.grams.clear()
        self._marks = None
