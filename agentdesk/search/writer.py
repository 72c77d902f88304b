"""Loading the store's customers, tasks and texts into an index being rebuilt.

The rows go in one at a time and the documents are built once at the end
(``documents.build_all``). Changes to a live index go through ``group_writer``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from agentdesk.domain import Customer, Task

from .documents import Documents
from .records import SLOT_BITS, STUB, LookupCustomer, customer_values, task_fingerprint, time_rowid
from .rows import INSERT_CUSTOMER, INSERT_TASK, UPDATE_CUSTOMER, UPDATE_TASK, task_values

_INSERT_GRAMS = "INSERT INTO customer_grams(rowid, search) VALUES (?,?)"
_DELETE_GRAMS = "INSERT INTO customer_grams(customer_grams, rowid, search) VALUES ('delete',?,?)"


class IndexWriter:
    """Puts domain objects in the index tables of a rebuild (inside its transaction)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.documents = Documents(db)
        self._keys: dict[str, int] = {}

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
                INSERT_CUSTOMER, (None, customer.id, name, people, search, fingerprint)
            ).lastrowid
            self.db.execute(_INSERT_GRAMS, (rid, search))
            return rid  # type: ignore[return-value]
        rid, old_search, old_fingerprint = row
        if old_fingerprint != fingerprint:
            self.db.execute(_DELETE_GRAMS, (rid, old_search))
            self.db.execute(UPDATE_CUSTOMER, (name, people, search, fingerprint, rid))
            self.db.execute(_INSERT_GRAMS, (rid, search))
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
        if old is not None and old[3] == task.updated_at:
            doc = old[2]
        else:
            doc = self._free_rowid(task.updated_at)
        values = task_values(task, doc, customer_rid, fingerprint)
        if old is None:
            self.db.execute(INSERT_TASK, (rid, *values))
        else:
            self.db.execute(UPDATE_TASK, (*values, rid))

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

    def put_texts(self, rows: Iterable[tuple[str, str, float, str]]) -> None:
        """Bulk insert of (event id, task id, at, text) for a rebuild."""
        self.db.executemany(
            "INSERT OR REPLACE INTO texts(event_id, task_rid, at, text) VALUES (?,?,?,?)",
            ((eid, self.task_rid(tid), at, text) for eid, tid, at, text in rows),
        )
