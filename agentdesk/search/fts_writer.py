"""Keeping the word index level with the store, inside the store's own transactions.

The store calls this writer as it writes rows (see ``store/sqlite_store.py``):
``put_customer`` / ``put_task`` / ``event_written`` as it writes, and
``finish`` before it commits. A task's document is rewritten once per
transaction however many of its rows changed. ``docs`` is contentless, so
removing a document takes its exact text: its head as indexed is what
``search_tasks`` holds (``put_task`` keeps the old head before changing it;
the people as indexed stay there until ``finish``), and its body as indexed is
the task's texts without those written in this transaction (an event written
again has the task's body kept first, by ``before_event_update``). The tables
are described in ``store/migrations/002_search.sql``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable

from agentdesk.domain import Customer, Task

from . import facets, lexicon
from .fts_order import Change, write_in_order
from .records import JOIN, SLOT_BITS, customer_columns, time_rowid

# (document row id, subject, body, people, facets)
Doc = tuple[int, str, str, str, str]
# (document row id, subject, people, facets)
Head = tuple[int, str, str, str]

_SLOT = 1 << SLOT_BITS
_INSERT_GRAMS = "INSERT INTO customer_grams(rowid, search) VALUES (?,?)"
_DELETE_GRAMS = "INSERT INTO customer_grams(customer_grams, rowid, search) VALUES ('delete',?,?)"
_INSERT_DOC = "INSERT INTO docs(rowid, subject, body, people, facets) VALUES (?,?,?,?,?)"
_CHUNK = 500  # keys per IN (...) list, well under SQLite's limit on parameters
_CACHED = 200_000  # rows remembered, at most (then forgotten all at once)


class IndexWriter:
    """The search tables' writer for one store connection (one writer thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Since the last finish: the tasks whose documents may change; the old
        # heads of those whose row changed (None: no row before); the old
        # bodies kept before an event was written again; the events inserted.
        self._touched: set[int] = set()
        self._old_heads: dict[int, Head | None] = {}
        self._old_bodies: dict[int, list[str]] = {}
        self._fresh: set[int] = set()
        # Tasks inserted since the last finish, with the texts written with them.
        self._new_tasks: set[int] = set()
        self._new_texts: dict[int, list[tuple[tuple[float, str], int, str]]] = {}
        # False once part of the transaction rolled back: what was noted may be gone.
        self._exact = True
        self._texts: list[str] = []
        # White-space separated pieces whose words the lexicon holds.
        self._seen: set[str] = set()
        # Rows the file holds, to spare a query: customer id -> search row id,
        # task row id -> its document's row id.
        self._customer_rids: dict[str, int] = {}
        self._doc_ids: dict[int, int] = {}

    # --- while the store writes ------------------------------------------------

    def put_customer(self, customer: Customer, *, stub: bool = False) -> None:
        """Write a customer's search row; its tasks' documents follow at ``finish``.
        A ``stub`` stands for a customer the store does not hold."""
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
            if not stub:
                self._customer_rids[customer.id] = rid  # type: ignore[assignment]
            return
        rid, old_name, old_people, old_search = row
        if (old_name, old_people, old_search) == (name, people, search):
            return
        if old_people != people:
            self._touched.update(
                r for (r,) in self.db.execute(
                    "SELECT rid FROM search_tasks WHERE customer_rid = ?", (rid,)
                )
            )  # fmt: skip
        self.db.execute(_DELETE_GRAMS, (rid, old_search))
        self.db.execute(
            "UPDATE search_customers SET name = ?, people = ?, search = ? WHERE rid = ?",
            (name, people, search, rid),
        )
        self.db.execute(_INSERT_GRAMS, (rid, search))

    def put_task(self, task: Task, rid: int, *, new: bool = False) -> None:
        """Write a task's search row (``new``: the store has just inserted the
        task); its document is rewritten at ``finish``."""
        self._touched.add(rid)
        if new:
            self._new_tasks.add(rid)
        current = None if new else self._doc_ids.get(rid)
        if rid not in self._old_heads:
            head = None
            if not new:
                head = self.db.execute(
                    "SELECT doc, subject, people, facets FROM search_tasks WHERE rid = ?", (rid,)
                ).fetchone()
            self._old_heads[rid] = head
            current = head[0] if head else None
        elif current is None and not new:
            row = self.db.execute("SELECT doc FROM search_tasks WHERE rid = ?", (rid,)).fetchone()
            current = row[0] if row else None
        customer_rid = self._customer_rid(task)
        rest = (customer_rid, task.waiting_since, task.subject, facets.of_task(task, customer_rid))
        sql = (
            "INSERT INTO search_tasks(doc, customer_rid, waiting_since, subject, facets, people,"
            " rid) VALUES (?,?,?,?,?,'',?)"
            if current is None
            else "UPDATE search_tasks SET doc = ?, customer_rid = ?, waiting_since = ?,"
            " subject = ?, facets = ? WHERE rid = ?"
        )
        base = time_rowid(task.updated_at)
        if current is not None and base <= current < base + _SLOT:
            doc = current
        else:
            # The task's own place in its millisecond: another task holds it only
            # if its row id is a multiple of 2**20 away and it was active then too.
            doc = base + rid % _SLOT
        try:
            self.db.execute(sql, (doc, *rest, rid))
        except sqlite3.IntegrityError:
            doc = self._free_doc_id(base)
            self.db.execute(sql, (doc, *rest, rid))
        self._doc_ids[rid] = doc

    def before_event_update(self, task_rid: int) -> None:
        """An event of this task is about to be written again: keep its body as indexed."""
        if task_rid not in self._old_bodies:
            texts = self._texts_of([task_rid]).get(task_rid, [])
            self._old_bodies[task_rid] = [text for event, text in texts if event not in self._fresh]

    def event_written(
        self, task_rid: int, event_rid: int, text: str, order: tuple[float, str], *, inserted: bool
    ) -> None:
        """An event written to ``events`` (``inserted``: a new row); ``order`` is
        its place in the task's body, (time, id)."""
        self._touched.add(task_rid)
        if inserted:
            self._fresh.add(event_rid)
            if text and task_rid in self._new_tasks:
                self._new_texts.setdefault(task_rid, []).append((order, event_rid, text))
        else:
            self._new_tasks.discard(task_rid)
        if text:
            self._texts.append(text)

    def finish(self) -> None:
        """Rewrite the documents of the tasks changed since the last finish,
        and feed the lexicon; the caller then commits."""
        rids = sorted(self._touched)
        heads = {
            rid: (doc, subject, indexed, now, words)
            for rid, doc, subject, indexed, now, words in _select_in(
                self.db,
                "SELECT s.rid, s.doc, s.subject, s.people, c.people, s.facets FROM search_tasks s"
                " JOIN search_customers c ON c.rid = s.customer_rid WHERE s.rid IN ({})",
                rids,
            )
        }
        # A task new in this transaction has only the texts written with it
        # (unless part of the transaction was rolled back: then all are read).
        known = self._new_tasks if self._exact else set()
        texts = self._texts_of([rid for rid in rids if rid not in known])
        for rid in known:
            texts[rid] = [(event, text) for _, event, text in sorted(self._new_texts.get(rid, []))]
        changes: list[Change] = []
        words = self._texts
        for rid in rids:
            row = heads.get(rid)
            body = texts.get(rid, [])
            old: Doc | None = None
            old_head = self._old_heads[rid] if rid in self._old_heads else (
                None if row is None else (row[0], row[1], row[2], row[4])
            )  # fmt: skip
            if old_head is not None:
                kept = self._old_bodies.get(rid)
                if kept is None:
                    kept = [text for event, text in body if event not in self._fresh]
                doc, subject, people, words_ = old_head
                old = (doc, subject, JOIN.join(kept), people, words_)
            new: Doc | None = None
            if row is not None:
                doc, subject, _, people, words_ = row
                new = (doc, subject, JOIN.join(text for _, text in body), people, words_)
            if new == old:
                continue
            if old is not None:
                changes.append((old[0], 0, old))
            if new is not None:
                changes.append((new[0], 1, new))
                if old is None or old[1] != new[1]:
                    words.append(new[1])
                if old is None or old[3] != new[3]:
                    words.append(new[3])
                    self.db.execute(
                        "UPDATE search_tasks SET people = ? WHERE rid = ?", (new[3], rid)
                    )
        write_in_order(self.db, "docs", "subject, body, people, facets", changes)
        lexicon.feed(self.db, lexicon.unseen(words, self._seen))
        if len(self._doc_ids) > _CACHED or len(self._customer_rids) > _CACHED:
            self.forget_cached()
        self._clear()

    def _clear(self) -> None:
        self._new_tasks.clear()
        self._new_texts.clear()
        self._exact = True
        self._touched.clear()
        self._old_heads.clear()
        self._old_bodies.clear()
        self._fresh.clear()
        self._texts = []

    def reset(self) -> None:
        """Forget what the writer knew: the transaction it was part of rolled back."""
        self.forget_cached()
        self._seen.clear()
        self._clear()

    def forget_cached(self) -> None:
        """Forget the rows remembered: part of the transaction rolled back."""
        self._customer_rids.clear()
        self._doc_ids.clear()
        self._exact = False

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
            self.put_task(task, rid, new=True)
        self._clear()
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

    def _texts_of(self, rids: list[int]) -> dict[int, list[tuple[int, str]]]:
        """Each task's (event row id, text), in the body's order."""
        found: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
        for rid, event, text in _select_in(
            self.db,
            "SELECT task_rid, rid, text FROM texts WHERE task_rid IN ({})"
            " ORDER BY task_rid, at, id",
            rids,
        ):
            found[rid].append((event, text))
        return found

    def _bodies(self, rids: list[int]) -> dict[int, list[str]]:
        return {rid: [text for _, text in texts] for rid, texts in self._texts_of(rids).items()}

    def _customer_rid(self, task: Task) -> int:
        rid = self._customer_rids.get(task.customer_id)
        if rid is not None:
            return rid
        row = self.db.execute(
            "SELECT rid, name, EXISTS(SELECT 1 FROM customers c WHERE c.id = s.id)"
            " FROM search_customers s WHERE s.id = ?",
            (task.customer_id,),
        ).fetchone()
        if row is not None and row[2]:
            self._customer_rids[task.customer_id] = row[0]
            return row[0]
        # A task whose customer the store does not hold is known by the name on
        # it (the latest one), never remembered: the customer may come later.
        if row is None or row[1] != task.customer_name:
            self.put_customer(Customer(id=task.customer_id, name=task.customer_name), stub=True)
            row = self.db.execute(
                "SELECT rid FROM search_customers WHERE id = ?", (task.customer_id,)
            ).fetchone()
        return row[0]

    def _free_doc_id(self, base: int) -> int:
        """The next free document row id in the millisecond slot starting at ``base``."""
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
