"""Keeping the index rows in step with the store's customers, tasks and events."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable

from agentdesk.domain import Customer, Event, Task
from agentdesk.store.protocol import Batch

from . import facets
from .documents import Documents
from .records import (
    SLOT_BITS,
    STUB,
    LookupCustomer,
    customer_values,
    event_text,
    task_fingerprint,
    time_rowid,
)

_TASK_COLUMNS = (
    "doc, id, number, status, channel, channel_kind, customer_id, customer_rid,"
    " customer_name, subject, preview, assignee, last_activity, waiting_since, facets,"
    " fingerprint"
)
_INSERT_TASK = f"INSERT INTO tasks(rid, {_TASK_COLUMNS}) VALUES ({','.join('?' * 17)})"
_UPDATE_TASK = (
    "UPDATE tasks SET "
    + ", ".join(f"{c.strip()}=?" for c in _TASK_COLUMNS.split(","))
    + " WHERE rid=?"
)


class IndexWriter:
    """Applies domain objects to the index tables (inside the caller's transaction)."""

    def __init__(self, db: sqlite3.Connection, *, bulk: bool = False) -> None:
        self.db = db
        self.documents = Documents(db, bulk=bulk)
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
            fingerprint = STUB + fingerprint
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
            self.documents.touch(task_rid)
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
        if row is not None and not row[1].startswith(STUB):
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
        self.documents.touch(rid)
        if old is not None and old[3] == task.updated_at:
            doc = old[2]
        else:
            doc = self._free_rowid(task.updated_at)
        values = (
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
            task.updated_at if math.isfinite(task.updated_at) else 0.0,
            task.waiting_since,
            facets.of_task(task, customer_rid),
            fingerprint,
        )
        if old is None:
            self.db.execute(_INSERT_TASK, (rid, *values))
        else:
            self.db.execute(_UPDATE_TASK, (*values, rid))

    def _free_rowid(self, at: float) -> int:
        low = time_rowid(at)
        high = low + (1 << SLOT_BITS) - 1
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
                self.documents.touch(task_rid)
                self.db.execute(
                    "INSERT INTO texts(event_id, task_rid, at, text) VALUES (?,?,?,?)",
                    (event.id, task_rid, event.at, text),
                )
            return
        rid, old_task_rid, old_text = row
        task_rid = self.task_rid(event.task_id)
        if old_text == text and old_task_rid == task_rid:
            return
        self.documents.touch(old_task_rid)
        self.documents.touch(task_rid)
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
