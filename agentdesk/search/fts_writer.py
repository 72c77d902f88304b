"""Keeping the word index level with the store, inside the store's own transactions.

The store calls this writer as it writes rows (see ``store/sqlite_store.py``):
``capture`` before it changes anything a task's document is made of, then
``put_customer`` / ``put_task`` / ``note_text`` as it writes, and ``finish``
before it commits. A task's document is rewritten once per transaction
however many of its rows changed: ``docs`` is contentless, so removing the
old document takes its exact text, which ``capture`` reads from the rows as
they were indexed (``search_tasks`` keeps each document's head; the body is
the task's texts, unchanged since the last ``finish`` of a committed
transaction). The tables are described in ``store/migrations/002_search.sql``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable

from agentdesk.domain import Customer, Task

from . import facets, lexicon
from .fold import fold
from .fts_order import Change, write_in_order
from .records import JOIN, SLOT_BITS, customer_columns, time_rowid

# (document row id, subject, body, people, facets)
Doc = tuple[int, str, str, str, str]

_SLOT = 1 << SLOT_BITS
_INSERT_GRAMS = "INSERT INTO customer_grams(rowid, search) VALUES (?,?)"
_DELETE_GRAMS = "INSERT INTO customer_grams(customer_grams, rowid, search) VALUES ('delete',?,?)"
_INSERT_DOC = "INSERT INTO docs(rowid, subject, body, people, facets) VALUES (?,?,?,?,?)"
_CHUNK = 500  # keys per IN (...) list, well under SQLite's limit on parameters


class IndexWriter:
    """The search tables' writer for one store connection (one writer thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Task row id -> its document as indexed (None: it has none yet),
        # for every task touched since the last finish.
        self._before: dict[int, Doc | None] = {}
        self._texts: list[str] = []
        # White-space separated pieces whose words the lexicon holds.
        self._seen: set[str] = set()

    # --- while the store writes ------------------------------------------------

    def capture(self, rids: Iterable[int]) -> None:
        """Keep the documents of tasks about to change, as indexed."""
        todo = [rid for rid in dict.fromkeys(rids) if rid not in self._before]
        if todo:
            docs = self._read(todo, indexed=True)
            for rid in todo:
                self._before[rid] = docs.get(rid)

    def put_customer(self, customer: Customer) -> None:
        """Write a customer's search row; its tasks' documents follow at ``finish``."""
        name, people, search = customer_columns(customer)
        row = self.db.execute(
            "SELECT rid, name, people, search FROM search_customers WHERE id = ?", (customer.id,)
        ).fetchone()
        if row is None:
            rid = self.db.execute(
                "INSERT INTO search_customers(id, name, people, search) VALUES (?,?,?,?)",
                (customer.id, name, people, search),
            ).lastrowid
            self.db.execute(_INSERT_GRAMS, (rid, search))
            return
        rid, old_name, old_people, old_search = row
        if (old_name, old_people, old_search) == (name, people, search):
            return
        if old_people != people:
            self.capture(
                r
                for (r,) in self.db.execute(
                    "SELECT rid FROM search_tasks WHERE customer_rid = ?", (rid,)
                )
            )
        self.db.execute(_DELETE_GRAMS, (rid, old_search))
        self.db.execute(
            "UPDATE search_customers SET name = ?, people = ?, search = ? WHERE rid = ?",
            (name, people, search, rid),
        )
        self.db.execute(_INSERT_GRAMS, (rid, search))

    def put_task(self, task: Task, rid: int) -> None:
        """Write a task's search row (captured before, or new); its document is
        rewritten at ``finish``."""
        self._before.setdefault(rid, None)
        customer_rid = self._customer_rid(task)
        row = self.db.execute("SELECT doc FROM search_tasks WHERE rid = ?", (rid,)).fetchone()
        doc = self._doc_id(task.updated_at, row[0] if row else None)
        values = (
            doc,
            customer_rid,
            task.waiting_since,
            task.subject,
            facets.of_task(task, customer_rid),
        )
        if row is None:
            self.db.execute(
                "INSERT INTO search_tasks(doc, customer_rid, waiting_since, subject, facets,"
                " people, rid) VALUES (?,?,?,?,?,'',?)",
                (*values, rid),
            )
        else:
            self.db.execute(
                "UPDATE search_tasks SET doc = ?, customer_rid = ?, waiting_since = ?,"
                " subject = ?, facets = ? WHERE rid = ?",
                (*values, rid),
            )

    def note_text(self, text: str) -> None:
        """A text written to ``events``: its words go to the lexicon at ``finish``."""
        if text:
            self._texts.append(text)

    def finish(self) -> None:
        """Rewrite the documents of the tasks changed since the last finish,
        and feed the lexicon; the caller then commits."""
        changes: list[Change] = []
        words = self._texts
        after = self._read(list(self._before), indexed=False)
        for rid, old in self._before.items():
            new = after.get(rid)
            if new == old:
                continue
            if old is not None:
                changes.append((old[0], 0, old))
            if new is not None:
                changes.append((new[0], 1, new))
                words.extend((new[1], new[3]))
                if old is None or old[3] != new[3]:
                    self.db.execute(
                        "UPDATE search_tasks SET people = ? WHERE rid = ?", (new[3], rid)
                    )
        write_in_order(self.db, "docs", "subject, body, people, facets", changes)
        lexicon.feed(self.db, lexicon.unseen(words, self._seen))
        self._before.clear()
        self._texts = []

    def reset(self) -> None:
        """Forget what the writer knew: the transaction it was part of rolled back."""
        self._before.clear()
        self._texts = []
        self._seen.clear()

    # --- rebuilding --------------------------------------------------------------

    def rebuild(
        self,
        customers: Iterable[Customer],
        tasks: Iterable[tuple[int, Task]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Fill the emptied search tables from every customer and task (row id,
        task); inside the caller's transaction."""
        for table in ("search_tasks", "search_customers", "lexicon"):
            self.db.execute(f"DELETE FROM {table}")
        for table in ("docs", "customer_grams"):
            self.db.execute(f"INSERT INTO {table}({table}) VALUES ('delete-all')")
        self.reset()
        for customer in customers:
            self.put_customer(customer)
        for rid, task in tasks:
            self.put_task(task, rid)
        self._before.clear()
        self._build_all(progress)
        lexicon.feed_everything(self.db)

    def _build_all(self, progress: Callable[[int], None] | None) -> None:
        heads = self.db.execute(
            "SELECT s.rid, s.doc, s.subject, c.people, s.facets FROM search_tasks s"
            " JOIN search_customers c ON c.rid = s.customer_rid ORDER BY s.doc"
        ).fetchall()
        done = 0
        for start in range(0, len(heads), 2000):
            chunk = heads[start : start + 2000]
            bodies = self._bodies([rid for rid, *_ in chunk])
            rows = [
                (doc, subject, JOIN.join(bodies.get(rid, ())), people, words)
                for rid, doc, subject, people, words in chunk
            ]
            self.db.executemany(_INSERT_DOC, rows)
            self.db.executemany(
                "UPDATE search_tasks SET people = ? WHERE rid = ?",
                [(people, rid) for rid, _, _, people, _ in chunk],
            )
            done += len(rows)
            if progress:
                progress(done)

    # --- reading the rows ----------------------------------------------------------

    def _read(self, rids: list[int], *, indexed: bool) -> dict[int, Doc]:
        """The documents of tasks ``rids``: as indexed, or as the rows make them now."""
        if not rids:
            return {}
        people = "s.people" if indexed else "c.people"
        heads = _select_in(
            self.db,
            f"SELECT s.rid, s.doc, s.subject, {people}, s.facets FROM search_tasks s"
            " JOIN search_customers c ON c.rid = s.customer_rid WHERE s.rid IN ({})",
            rids,
        )
        bodies = self._bodies(rids)
        return {
            rid: (doc, subject, JOIN.join(bodies.get(rid, ())), who, words)
            for rid, doc, subject, who, words in heads
        }

    def _bodies(self, rids: list[int]) -> dict[int, list[str]]:
        bodies: defaultdict[int, list[str]] = defaultdict(list)
        for rid, text in _select_in(
            self.db,
            "SELECT task_rid, text FROM texts WHERE task_rid IN ({}) ORDER BY task_rid, at, id",
            rids,
        ):
            bodies[rid].append(text)
        return bodies

    def _customer_rid(self, task: Task) -> int:
        row = self.db.execute(
            "SELECT rid FROM search_customers WHERE id = ?", (task.customer_id,)
        ).fetchone()
        if row is not None:
            return row[0]
        # A task whose customer the store does not hold is known by the name on it.
        name = task.customer_name
        rid = self.db.execute(
            "INSERT INTO search_customers(id, name, people, search) VALUES (?,?,?,?)",
            (task.customer_id, name, name, fold(name)),
        ).lastrowid
        self.db.execute(_INSERT_GRAMS, (rid, fold(name)))
        return rid  # type: ignore[return-value]

    def _doc_id(self, updated_at: float, current: int | None) -> int:
        """The document row id for a last activity at ``updated_at``: the current
        one if it is in that millisecond's slot, else the next free one there."""
        base = time_rowid(updated_at)
        if current is not None and base <= current < base + _SLOT:
            return current
        (top,) = self.db.execute(
            "SELECT max(doc) FROM search_tasks WHERE doc >= ? AND doc < ?", (base, base + _SLOT)
        ).fetchone()
        return base if top is None else top + 1


def _select_in(db: sqlite3.Connection, sql: str, keys: list[int]) -> list[tuple]:
    rows: list[tuple] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows.extend(db.execute(sql.format(",".join("?" * len(chunk))), chunk))
    return rows
