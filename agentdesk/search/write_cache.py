"""What the write path keeps in memory between groups, so that most changes need no read.

High-water marks of the file (the next row ids, the greatest event id and
document row id), the tasks waiting for a refresh, the pieces of text the
lexicon was fed, and the trigram changes held until the write group commits.
All of it mirrors the file as the open transaction sees it (or is written
before that transaction commits). The index drops it whenever the
transaction rolls back, the file is replaced, or another connection wrote
the file, and it is read again from the file on next use, so it never
disagrees with the file.

Rows of tasks and customers are not kept: the group writer reads those it
needs with a few ``IN (...)`` queries per group, which measured no slower
than a cache of recent rows, at a fraction of the memory.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from .grams import PendingGrams


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


class WriteCache:
    """What the index's writes keep between groups (see the module docstring)."""

    def __init__(self) -> None:
        # Pieces of text whose words are in the lexicon (see lexicon.unseen).
        self.fed: set[str] = set()
        # Trigram changes the file does not hold yet.
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
        self.fed.clear()
        self.grams.clear()
        self._marks = None
