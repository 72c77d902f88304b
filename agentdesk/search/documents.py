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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from . import lexicon
from .records import JOIN

# (row id, subject, body, people, facets)
Doc = tuple[int, str, str, str, str]


class Documents:
    """The documents of the index's tasks (inside the caller's transaction)."""

    def __init__(self, db: sqlite3.Connection, *, bulk: bool = False) -> None:
        self.db = db
        # In bulk mode (rebuild) documents are built once at the end instead.
        self.bulk = bulk
        self._touched: set[int] = set()

    def doc(self, rid: int) -> Doc | None:
        row = self.db.execute(
            "SELECT t.doc, t.subject, c.people, t.facets FROM tasks t"
            " JOIN customers c ON c.rid = t.customer_rid WHERE t.rid=?",
            (rid,),
        ).fetchone()
        if row is None:
            return None
        texts = self.db.execute(
            "SELECT text FROM texts WHERE task_rid=? ORDER BY at, rid", (rid,)
        ).fetchall()
        return row[0], row[1], JOIN.join(t for (t,) in texts), row[2], row[3]

    def touch(self, rid: int) -> None:
        """Keep the task's document as indexed, before its first change since a refresh."""
        if self.bulk or rid in self._touched:
            return
        self._touched.add(rid)
        if self.db.execute("SELECT 1 FROM dirty WHERE rid=?", (rid,)).fetchone():
            return
        old = self.doc(rid)
        self.db.execute("INSERT INTO dirty VALUES (?,?,?,?,?,?)", (rid, *(old or (None,) * 5)))

    def dirty_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM dirty").fetchone()[0]

    def refresh(self) -> int:
        """Replace the documents of the tasks changed since the last refresh."""
        rows = self.db.execute("SELECT * FROM dirty").fetchall()
        # FTS5 writes its pending changes out (a new segment on disk) whenever
        # a row id is not above the previous one: go in row id order, each
        # removal before the insertion that may reuse its row id.
        changes: list[tuple[int, int, Doc]] = []
        for rid, *indexed in rows:
            old = None if indexed[0] is None else tuple(indexed)
            new = self.doc(rid)
            if new == old:
                continue
            if old is not None:
                changes.append((old[0], 0, old))  # type: ignore[arg-type]
            if new is not None:
                changes.append((new[0], 1, new))
        changes.sort(key=lambda change: change[:2])
        lexicon.feed_new_texts(
            self.db, (part for _, insert, doc in changes if insert for part in (doc[1], doc[3]))
        )
        for _, insert, doc in changes:
            if insert:
                self.db.execute(
                    "INSERT INTO docs(rowid, subject, body, people, facets) VALUES (?,?,?,?,?)",
                    doc,
                )
            else:
                self.db.execute(
                    "INSERT INTO docs(docs, rowid, subject, body, people, facets)"
                    " VALUES ('delete',?,?,?,?,?)",
                    doc,
                )
        self.db.execute("DELETE FROM dirty")
        self._touched.clear()
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
        insert = "INSERT INTO docs(rowid, subject, body, people, facets) VALUES (?,?,?,?,?)"
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
                self.db.executemany(insert, rows)
                done += len(rows)
                rows.clear()
                if progress:
                    progress(done)
        self.db.executemany(insert, rows)
        if progress:
            progress(done + len(rows))
