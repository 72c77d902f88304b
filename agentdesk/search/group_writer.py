"""Applying a group of store batches to the index with a few statements.

The group is coalesced first: the last version of each customer, task and
event wins (an event keeps the place it first had, so texts keep their
order). The rows it needs come from a few ``IN (...)`` queries; an event
whose id is above every id the index holds (ids grow with time) is known to
be new without a query, and new rows take the row ids the write cache hands
out. The changes are worked out in memory, the documents of the tasks they
change are set aside as indexed (see documents.py), then the rows are
written with ``executemany``. Nothing is written before every read is done,
so what is set aside is what the word index holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentdesk.domain import Customer, Event, Task
from agentdesk.store.protocol import Batch

from . import lexicon
from .documents import Documents
from .records import (
    SLOT_BITS,
    STUB,
    LookupCustomer,
    customer_columns,
    customer_fingerprint,
    event_text,
    task_fingerprint,
    time_rowid,
)
from .rows import (
    INSERT_CUSTOMER,
    INSERT_TASK,
    UPDATE_CUSTOMER,
    UPDATE_TASK,
    last_activity,
    select_in,
    task_values,
)
from .write_cache import WriteCache

_SLOT = (1 << SLOT_BITS) - 1


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
class Group:
    """The last version of each object of a run of batches, in first-seen order."""

    customers: dict[str, Customer] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)


def coalesce(batches: Iterable[Batch]) -> Group:
    group = Group()
    for batch in batches:
        for customer in batch.customers:
            group.customers[customer.id] = customer
        for task in batch.tasks:
            group.tasks[task.id] = task
        for event in batch.events:
            group.events[event.id] = event
    return group


class GroupWriter:
    """Applies one group of batches (inside the caller's transaction).

    Use one writer per group; on an exception the caller rolls back and drops
    the write cache, which this writer has changed.
    """

    def __init__(self, db: sqlite3.Connection, cache: WriteCache, documents: Documents) -> None:
        self.db = db
        self.cache = cache
        self.documents = documents
        self.marks = cache.marks(db)
        # Rows as the group leaves them, by id (None: not in the index).
        self._customers: dict[str, CustomerRow | None] = {}
        self._tasks: dict[str, TaskRow | None] = {}
        # Tasks changed, and those of them without a row before the group.
        self._touched: set[int] = set()
        self._fresh: set[int] = set()
        # The greatest document row id given out in each time slot.
        self._slots: dict[int, int] = {}
        # Rows to write once every read is done.
        self._new_customers: dict[int, tuple] = {}
        self._changed_customers: dict[int, tuple] = {}
        self._new_keys: list[tuple[int, str]] = []
        self._new_tasks: list[tuple] = []
        self._changed_tasks: list[tuple] = []
        self._new_texts: list[tuple] = []
        self._changed_texts: list[tuple] = []
        self._edited_texts: list[str] = []
        self._removed_texts: list[tuple[int]] = []

    def apply(self, batches: Iterable[Batch], lookup_customer: LookupCustomer | None) -> None:
        group = coalesce(batches)
        self._find_customers({*group.customers, *(t.customer_id for t in group.tasks.values())})
        self._find_tasks({*group.tasks, *(e.task_id for e in group.events.values())})
        for customer in group.customers.values():
            self._put_customer(customer)
        for task in group.tasks.values():
            self._put_task(task, lookup_customer)
        self._put_events(group.events.values())
        self._write()

    # --- finding rows -----------------------------------------------------

    def _find_customers(self, ids: set[str]) -> None:
        self._customers.update(dict.fromkeys(ids))
        for customer_id, rid, fingerprint in select_in(
            self.db, "SELECT id, rid, fingerprint FROM customers WHERE id IN ({})", sorted(ids)
        ):
            self._customers[customer_id] = CustomerRow(rid, fingerprint)

    def _customer_row(self, customer_id: str) -> CustomerRow | None:
        if customer_id not in self._customers:
            self._find_customers({customer_id})
        return self._customers[customer_id]

    def _find_tasks(self, ids: set[str]) -> None:
        self._tasks.update(dict.fromkeys(ids))
        for task_id, rid, fingerprint, customer_rid, doc, at in select_in(
            self.db,
            "SELECT k.id, k.rid, t.fingerprint, t.customer_rid, t.doc, t.last_activity"
            " FROM task_keys k LEFT JOIN tasks t ON t.rid = k.rid WHERE k.id IN ({})",
            sorted(ids),
        ):
            if fingerprint is None:
                self._tasks[task_id] = TaskRow(rid)
                self._fresh.add(rid)
            else:
                self._tasks[task_id] = TaskRow(rid, fingerprint, customer_rid, doc, at)

    def _task_row(self, task_id: str) -> TaskRow:
        """The task's row, or a new key for a task new to the index."""
        if task_id not in self._tasks:
            self._find_tasks({task_id})
        row = self._tasks[task_id]
        if row is None:
            self.marks.task_rid += 1
            row = TaskRow(self.marks.task_rid)
            self._new_keys.append((row.rid, task_id))
            self._fresh.add(row.rid)
            self._tasks[task_id] = row
        return row

    # --- working out the changes -----------------------------------------

    def _put_customer(self, customer: Customer, *, stub: bool = False) -> int:
        fingerprint = customer_fingerprint(customer)
        if stub:
            fingerprint = STUB + fingerprint
        row = self._customer_row(customer.id)
        if row is not None and row.fingerprint == fingerprint:
            return row.rid
        name, people, search = customer_columns(customer)
        if row is None:
            self.marks.customer_rid += 1
            rid = self.marks.customer_rid
        else:
            rid = row.rid
        if rid in self._new_customers or row is None:
            self._new_customers[rid] = (rid, customer.id, name, people, search, fingerprint)
        else:
            self._changed_customers[rid] = (name, people, search, fingerprint, rid)
        self._customers[customer.id] = CustomerRow(rid, fingerprint)
        return rid

    def _customer_rid(self, task: Task, lookup_customer: LookupCustomer | None) -> int:
        row = self._customer_row(task.customer_id)
        if row is not None and not row.fingerprint.startswith(STUB):
            return row.rid
        customer = lookup_customer(task.customer_id) if lookup_customer else None
        if customer is not None:
            return self._put_customer(customer)
        # Unknown to the store: the name on the task is all there is.
        return self._put_customer(Customer(id=task.customer_id, name=task.customer_name), stub=True)

    def _put_task(self, task: Task, lookup_customer: LookupCustomer | None) -> None:
        row = self._task_row(task.id)
        customer_rid = self._customer_rid(task, lookup_customer)
        fingerprint = task_fingerprint(task)
        if row.fingerprint == fingerprint and row.customer_rid == customer_rid:
            return
        self._touched.add(row.rid)
        has_row = row.fingerprint is not None
        if has_row and row.last_activity == task.updated_at:
            doc = row.doc
        else:
            doc = self._free_doc(task.updated_at)
        values = task_values(task, doc, customer_rid, fingerprint)
        if has_row:
            self._changed_tasks.append((*values, row.rid))
        else:
            self._new_tasks.append((row.rid, *values))
        self._tasks[task.id] = TaskRow(row.rid, fingerprint, customer_rid, doc, last_activity(task))

    def _free_doc(self, at: float) -> int:
        """A document row id in the time slot of ``at`` that no task holds."""
        low = time_rowid(at)
        high = low + _SLOT
        top = self.marks.doc
        if top is None or low > top:
            doc = low
        elif top < high:
            # Nothing is above ``top``: the next id is free (the usual case of
            # several tasks active in the same millisecond).
            doc = top + 1
        else:
            held = self.db.execute(
                "SELECT max(doc) FROM tasks WHERE doc BETWEEN ? AND ?", (low, high)
            ).fetchone()[0]
            taken = max((d for d in (held, self._slots.get(low)) if d is not None), default=None)
            if taken is None:
                doc = low
            elif taken < high:
                doc = taken + 1
            else:
                # A million tasks in one millisecond: any unused id will do.
                doc = top + 1
        slot = doc & ~_SLOT
        self._slots[slot] = max(doc, self._slots.get(slot, doc))
        self.marks.doc = doc if top is None else max(top, doc)
        return doc

    def _put_events(self, events: Iterable[Event]) -> None:
        events = list(events)
        newest = self.marks.event_id
        maybe_held = [e.id for e in events if newest is not None and e.id <= newest]
        held = {
            event_id: (rid, task_rid, text)
            for event_id, rid, task_rid, text in select_in(
                self.db,
                "SELECT event_id, rid, task_rid, text FROM texts WHERE event_id IN ({})",
                maybe_held,
            )
        }
        for event in events:
            text = event_text(event)
            row = held.get(event.id)
            if row is None:
                if text:
                    task_rid = self._task_row(event.task_id).rid
                    self._touched.add(task_rid)
                    self._new_texts.append((event.id, task_rid, event.at, text))
                    if newest is None or event.id > newest:
                        newest = event.id
                continue
            rid, old_task_rid, old_text = row
            task_rid = self._task_row(event.task_id).rid
            if old_text == text and old_task_rid == task_rid:
                continue
            self._touched.update((old_task_rid, task_rid))
            if not text:
                self._removed_texts.append((rid,))
                continue
            self._changed_texts.append((task_rid, event.at, text, rid))
            if text != old_text:
                self._edited_texts.append(text)
        self.marks.event_id = newest

    # --- writing ----------------------------------------------------------

    def _write(self) -> None:
        db = self.db
        grams = self.cache.grams
        indexed: dict[int, str] = {}
        if self._changed_customers:
            rids = sorted(self._changed_customers)
            # What the trigram index holds, unless a change to it is pending.
            indexed = dict(
                select_in(
                    db,
                    "SELECT rid, search FROM customers WHERE rid IN ({})",
                    [rid for rid in rids if not grams.holds(rid)],
                )
            )
            # A customer's name and identities are in each of its tasks' documents.
            self._touched.update(
                rid
                for (rid,) in select_in(
                    db, "SELECT rid FROM tasks WHERE customer_rid IN ({})", rids
                )
            )
        self.documents.set_aside(self._touched, self._fresh)
        if self._new_customers:
            db.executemany(INSERT_CUSTOMER, list(self._new_customers.values()))
            for rid, row in self._new_customers.items():
                grams.add(rid, None, row[4])
        if self._changed_customers:
            db.executemany(UPDATE_CUSTOMER, list(self._changed_customers.values()))
            for rid, row in self._changed_customers.items():
                grams.add(rid, indexed.get(rid), row[2])
        if self._new_keys:
            db.executemany("INSERT INTO task_keys(rid, id) VALUES (?,?)", self._new_keys)
        if self._new_tasks:
            db.executemany(INSERT_TASK, self._new_tasks)
        if self._changed_tasks:
            db.executemany(UPDATE_TASK, self._changed_tasks)
        if self._new_texts:
            db.executemany(
                "INSERT INTO texts(event_id, task_rid, at, text) VALUES (?,?,?,?)",
                self._new_texts,
            )
        if self._changed_texts:
            db.executemany(
                "UPDATE texts SET task_rid=?, at=?, text=? WHERE rid=?", self._changed_texts
            )
        if self._removed_texts:
            db.executemany("DELETE FROM texts WHERE rid=?", self._removed_texts)
        if self._edited_texts:
            # The lexicon takes new rows at each refresh; an edited text keeps its row.
            lexicon.feed(db, lexicon.unseen(self._edited_texts, self.cache.fed))
