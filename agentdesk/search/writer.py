"""Keeping the index rows in step with the store's customers, tasks and events.

Each task has one document in the full-text table ``docs``: its subject, the
text of its messages, notes and call summaries, its customer's name and
identities, and its facets (filter values). The document's row id follows the
task's last activity.

Rewriting a document costs tokenizing it twice (FTS5 removes a document of a
``content=''`` table by being handed the exact text it was built from), so
writes do not touch ``docs``: before a task's first change the writer copies
the document as indexed into ``dirty``, and ``refresh`` later swaps old for
new once per task however many messages arrived meanwhile. The index
refreshes before every search, so nothing written is ever missing from a
result.
"""

from __future__ import annotations

import math
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable

from agentdesk.domain import CallRecord, Customer, Event, Message, Note, Task
from agentdesk.store.protocol import Batch

from . import facets, lexicon
from .fold import PART_SEPARATOR, fold, phone_forms

LookupCustomer = Callable[[str], Customer | None]
# (row id, subject, body, people, facets)
Doc = tuple[int, str, str, str, str]

_JOIN = f" {PART_SEPARATOR} "
_PUT_TASK = "INSERT OR REPLACE INTO tasks VALUES (" + ",".join("?" * 17) + ")"

_STUB = "stub:"

# A document's row id is its task's last activity in milliseconds, shifted
# left to leave room for tasks active in the same millisecond.
_SLOT_BITS = 20


def time_rowid(at: float) -> int:
    """The lowest document row id for a last activity at ``at`` (epoch seconds)."""
    return math.floor(at * 1000) << _SLOT_BITS


def event_text(event: Event) -> str:
    """The searchable text of an event (messages, notes and call summaries), in NFC.

    Composed accents keep one character per accented letter for the snippet
    shortlist's LIKE patterns.
    """
    if isinstance(event, Message | Note):
        text = event.text
    elif isinstance(event, CallRecord):
        text = event.summary
    else:
        return ""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def customer_values(customer: Customer) -> tuple[str, str, str, str]:
    """(name, people, search, fingerprint) for the customers table.

    ``people`` feeds the word index; ``search`` (folded name, identities and
    the digit forms of phone numbers, one per line) serves ``from:`` fragments.
    """
    values = [identity.value for identity in customer.identities]
    people = _JOIN.join([customer.name, *values])
    lines = [fold(customer.name), *(fold(v) for v in values)]
    for identity in customer.identities:
        if identity.kind == "phone":
            lines.extend(phone_forms(identity.value))
    fingerprint = repr((customer.name, [(i.kind, i.value) for i in customer.identities]))
    return customer.display_name, people, "\n".join(lines), fingerprint


def task_fingerprint(task: Task) -> str:
    """What the index keeps of a task, to tell an outdated row (see ``check``)."""
    return repr(
        (
            task.number,
            str(task.status),
            task.channel,
            task.channel_kind,
            task.customer_id,
            task.customer_name,
            task.subject,
            task.preview,
            task.assignee,
            task.team,
            sorted(task.tags),
            str(task.priority),
            task.updated_at,
            task.waiting_since,
            task.unread,
        )
    )


class IndexWriter:
    """Applies domain objects to the index tables (inside the caller's transaction)."""

    def __init__(self, db: sqlite3.Connection, *, bulk: bool = False) -> None:
        self.db = db
        # In bulk mode (rebuild) documents are built once at the end instead.
        self.bulk = bulk
        self._touched: set[int] = set()
        self._keys: dict[str, int] = {}

    def apply(self, batch: Batch, lookup_customer: LookupCustomer | None) -> None:
        for customer in batch.customers:
            self.put_customer(customer)
        for task in batch.tasks:
            self.put_task(task, lookup_customer)
        for event in batch.events:
            self.put_event(event)

    # --- rows -------------------------------------------------------------

    def task_rid(self, task_id: str) -> int:
        rid = self._keys.get(task_id)
        if rid is not None:
            return rid
        row = self.db.execute("SELECT rid FROM task_keys WHERE id=?", (task_id,)).fetchone()
        if row is None:
            rid = self.db.execute("INSERT INTO task_keys(id) VALUES (?)", (task_id,)).lastrowid
        else:
            rid = row[0]
        self._keys[task_id] = rid  # type: ignore[assignment]
        return rid  # type: ignore[return-value]

    def put_customer(self, customer: Customer, *, stub: bool = False) -> int:
        """Index a customer; a ``stub`` stands in for one the store does not have."""
        name, people, search, fingerprint = customer_values(customer)
        if stub:
            fingerprint = _STUB + fingerprint
        row = self.db.execute(
            "SELECT rid, search, fingerprint FROM customers WHERE id=?", (customer.id,)
        ).fetchone()
        if row is None:
            rid = self.db.execute(
                "INSERT INTO customers(id, name, people, search, fingerprint) VALUES (?,?,?,?,?)",
                (customer.id, name, people, search, fingerprint),
            ).lastrowid
            self.db.execute("INSERT INTO customer_grams(rowid, search) VALUES (?,?)", (rid, search))
            return rid  # type: ignore[return-value]
        rid, old_search, old_fingerprint = row
        if old_fingerprint == fingerprint:
            return rid
        for (task_rid,) in self.db.execute(
            "SELECT rid FROM tasks WHERE customer_rid=?", (rid,)
        ).fetchall():
            self._touch(task_rid)
        self.db.execute(
            "INSERT INTO customer_grams(customer_grams, rowid, search) VALUES ('delete',?,?)",
            (rid, old_search),
        )
        self.db.execute(
            "UPDATE customers SET name=?, people=?, search=?, fingerprint=? WHERE rid=?",
            (name, people, search, fingerprint, rid),
        )
        self.db.execute("INSERT INTO customer_grams(rowid, search) VALUES (?,?)", (rid, search))
        return rid

    def _customer_rid(self, task: Task, lookup_customer: LookupCustomer | None) -> int:
        row = self.db.execute(
            "SELECT rid, fingerprint FROM customers WHERE id=?", (task.customer_id,)
        ).fetchone()
        if row is not None and not row[1].startswith(_STUB):
            return row[0]
        customer = lookup_customer(task.customer_id) if lookup_customer else None
        if customer is not None:
            return self.put_customer(customer)
        # Unknown to the store: the name on the task is all there is.
        return self.put_customer(Customer(id=task.customer_id, name=task.customer_name), stub=True)

    def put_task(self, task: Task, lookup_customer: LookupCustomer | None = None) -> None:
        rid = self.task_rid(task.id)
        customer_rid = self._customer_rid(task, lookup_customer)
        fingerprint = task_fingerprint(task)
        old = self.db.execute(
            "SELECT fingerprint, customer_rid, doc, last_activity FROM tasks WHERE rid=?", (rid,)
        ).fetchone()
        if old is not None and old[0] == fingerprint and old[1] == customer_rid:
            return
        self._touch(rid)
        if old is not None and old[3] == task.updated_at:
            doc = old[2]
        else:
            doc = self._free_rowid(task.updated_at)
        self.db.execute(
            _PUT_TASK,
            (
                rid,
                doc,
                task.id,
                task.number,
                str(task.status),
                task.channel,
                task.channel_kind,
                task.customer_id,
                customer_rid,
                task.customer_name,
                task.subject,
                task.preview,
                task.assignee,
                task.updated_at,
                task.waiting_since,
                facets.of_task(task, customer_rid),
                fingerprint,
            ),
        )

    def _free_rowid(self, at: float) -> int:
        low = time_rowid(at)
        high = low + (1 << _SLOT_BITS) - 1
        row = self.db.execute(
            "SELECT max(doc) FROM tasks WHERE doc BETWEEN ? AND ?", (low, high)
        ).fetchone()
        if row[0] is None:
            return low
        if row[0] < high:
            return row[0] + 1
        # A million tasks in one millisecond: any unused id will do.
        return self.db.execute("SELECT max(doc) + 1 FROM tasks").fetchone()[0]

    def put_event(self, event: Event) -> None:
        text = event_text(event)
        row = self.db.execute(
            "SELECT rid, task_rid, text FROM texts WHERE event_id=?", (event.id,)
        ).fetchone()
        if row is None:
            if text:
                task_rid = self.task_rid(event.task_id)
                self._touch(task_rid)
                self.db.execute(
                    "INSERT INTO texts(event_id, task_rid, at, text) VALUES (?,?,?,?)",
                    (event.id, task_rid, event.at, text),
                )
            return
        rid, old_task_rid, old_text = row
        task_rid = self.task_rid(event.task_id)
        if old_text == text and old_task_rid == task_rid:
            return
        self._touch(old_task_rid)
        self._touch(task_rid)
        if text:
            self.db.execute(
                "UPDATE texts SET task_rid=?, at=?, text=? WHERE rid=?",
                (task_rid, event.at, text, rid),
            )
        else:
            self.db.execute("DELETE FROM texts WHERE rid=?", (rid,))

    def put_texts(self, rows: Iterable[tuple[str, str, float, str]]) -> None:
        """Bulk insert of (event id, task id, at, text) for a rebuild."""
        self.db.executemany(
            "INSERT OR REPLACE INTO texts(event_id, task_rid, at, text) VALUES (?,?,?,?)",
            ((eid, self.task_rid(tid), at, text) for eid, tid, at, text in rows),
        )

    # --- documents --------------------------------------------------------

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
        return row[0], row[1], _JOIN.join(t for (t,) in texts), row[2], row[3]

    def _touch(self, rid: int) -> None:
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

    def build_all_docs(self, progress: Callable[[int], None] | None = None) -> None:
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
            rows.append((doc, subject, _JOIN.join(parts), people, words))
            if len(rows) >= 2000:
                self.db.executemany(insert, rows)
                done += len(rows)
                rows.clear()
                if progress:
                    progress(done)
        self.db.executemany(insert, rows)
        if progress:
            progress(done + len(rows))
