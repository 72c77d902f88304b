"""Task documents in the word index, and bringing them up to date.

Each task has one document in the full-text table ``docs``: its subject, the
text of its messages, notes and call summaries, its customer's name and
identities, and its facets (filter values). The document's row id follows the
task's last activity.

Rewriting a document costs tokenizing it twice (FTS5 removes a document of a
``content=''`` table by being handed the exact text it was built from), so
writes do not touch ``docs``: before a task's first change its document as
indexed is copied into ``dirty``, and ``refresh`` later swaps old for new
once per task however many messages arrived meanwhile. The index refreshes
before every search, so nothing written is ever missing from a result.

A task new to the index has no document to keep: its ``dirty`` row is empty
and nothing is read. The row ids in ``dirty`` are also kept in memory (by the
index's write cache) between refreshes; the table stays the record a refresh
after a restart works from. Documents are read for many tasks at once, and
written in row id order (see fts_order.py).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable

from . import lexicon
from .fts_order import Change, write_in_order
from .records import JOIN
from .rows import select_in
from .write_cache import WriteCache

# (row id, subject, body, people, facets)
Doc = tuple[int, str, str, str, str]

_INSERT = "INSERT INTO docs(rowid, subject, body, people, facets) VALUES (?,?,?,?,?)"
_NO_DOC = (None,) * 5


class Documents:
    """The documents of the index's tasks (inside the caller's transaction)."""

    def __init__(self, db: sqlite3.Connection, cache: WriteCache | None = None) -> None:
        self.db = db
        # The row ids in the ``dirty`` table, which the cache keeps between
        # writes; read from the file when there is no cache.
        if cache is not None:
            self.dirty = cache.marks(db).dirty
            self._fed: set[str] | None = cache.fed
        else:
            self.dirty = {rid for (rid,) in db.execute("SELECT rid FROM dirty")}
            self._fed = None

    def read(self, rids: Iterable[int]) -> dict[int, Doc]:
        """The current documents of the tasks ``rids`` (those that have a row)."""
        keys = sorted(rids)
        if not keys:
            return {}
        heads = select_in(
            self.db,
            "SELECT t.rid, t.doc, t.subject, c.people, t.facets FROM tasks t"
            " JOIN customers c ON c.rid = t.customer_rid WHERE t.rid IN ({})",
            keys,
        )
        bodies: defaultdict[int, list[str]] = defaultdict(list)
        for rid, text in select_in(
            self.db,
            "SELECT task_rid, text FROM texts WHERE task_rid IN ({}) ORDER BY task_rid, at, rid",
            keys,
        ):
            bodies[rid].append(text)
        return {
            rid: (doc, subject, JOIN.join(bodies.get(rid, ())), people, words)
            for rid, doc, subject, people, words in heads
        }

    def set_aside(self, rids: Iterable[int], fresh: Collection[int] = ()) -> None:
        """Keep the documents of tasks about to change as indexed, before their
        first change since a refresh. ``fresh`` tasks have no row yet, hence no
        document to read."""
        todo = sorted({rid for rid in rids if rid not in self.dirty})
        if not todo:
            return
        docs = self.read(rid for rid in todo if rid not in fresh)
        self.db.executemany(
            "INSERT INTO dirty VALUES (?,?,?,?,?,?)",
            [(rid, *docs.get(rid, _NO_DOC)) for rid in todo],
        )
        self.dirty.update(todo)

    def dirty_count(self) -> int:
        return len(self.dirty)

    def refresh(self) -> int:
        """Replace the documents of the tasks changed since the last refresh."""
        rows = self.db.execute("SELECT * FROM dirty").fetchall()
        current = self.read(rid for rid, *_ in rows)
        changes: list[Change] = []
        # Words of subjects and customers, new only where they changed (those
        # of message texts are found by their row ids); a dict keeps one of each.
        words: dict[str, None] = {}
        for rid, *indexed in rows:
            old = None if indexed[0] is None else tuple(indexed)
            new = current.get(rid)
            if new == old:
                continue
            if old is not None:
                changes.append((old[0], 0, old))
            if new is not None:
                changes.append((new[0], 1, new))
                if old is None or old[1] != new[1]:
                    words[new[1]] = None
                if old is None or old[3] != new[3]:
                    words[new[3]] = None
        lexicon.feed_new_texts(self.db, words, self._fed)
        write_in_order(self.db, "docs", "subject, body, people, facets", changes)
        self.db.execute("DELETE FROM dirty")
        self.dirty.clear()
        return len(rows)

    def build_all(self, progress: Callable[[int], None] | None = None) -> None:
        """Write every task's document in one pass (after a bulk load).

        Goes in task row order, which a rebuild makes the order of last
        activity, so FTS5 receives ascending row ids.
        """
        tasks = self.db.execute(
            "SELECT t.rid, t.doc, t.subject, c.people, t.facets FROM tasks t"
            " JOIN customers c ON c.rid = t.customer_rid ORDER BY t.rid"
        )
        texts = self.db.execute("SELECT task_rid, text FROM texts ORDER BY task_rid, at, rid")
        pending = next(texts, None)
        rows: list[Doc] = []
        done = 0
        for rid, doc, subject, people, words in tasks:
            while pending is not None and pending[0] < rid:
                pending = next(texts, None)
            parts = []
            while pending is not None and pending[0] == rid:
                parts.append(pending[1])
                pending = next(texts, None)
            rows.append((doc, subject, JOIN.join(parts), people, words))
            if len(rows) >= 2000:
                self.db.executemany(_INSERT, rows)
                done += len(rows)
                rows.clear()
                if progress:
                    progress(done)
        self.db.executemany(_INSERT, rows)
        if progress:
            progress(done + len(rows))
