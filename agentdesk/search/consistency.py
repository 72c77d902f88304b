"""Comparing the index with the store it is derived from."""

from __future__ import annotations

import sqlite3

from agentdesk.store.protocol import Store

from .records import customer_values, event_text, task_fingerprint

# Past this many differences the list says how many more there are.
MAX_REPORTED = 200


def compare(db: sqlite3.Connection, store: Store) -> list[str]:
    """Missing, extra and outdated tasks, texts and customers, one line each."""
    problems: list[str] = []
    indexed = {
        task_id: (rid, number, fingerprint)
        for rid, task_id, number, fingerprint in db.execute(
            "SELECT rid, id, number, fingerprint FROM tasks"
        )
    }
    for task in store.tasks():
        row = indexed.pop(task.id, None)
        if row is None:
            problems.append(f"task #{task.number} ({task.id}) is missing from the index")
            continue
        rid, _, fingerprint = row
        if fingerprint != task_fingerprint(task):
            problems.append(f"task #{task.number} ({task.id}) is outdated in the index")
        problems.extend(_compare_texts(db, store, rid, task.number, task.id))
    for task_id, (_, number, _) in indexed.items():
        problems.append(f"task #{number} ({task_id}) is in the index but not in the store")
    for customer in store.customers():
        row = db.execute("SELECT fingerprint FROM customers WHERE id=?", (customer.id,)).fetchone()
        if row is None:
            problems.append(f"customer {customer.id} is missing from the index")
        elif row[0] != customer_values(customer)[3]:
            problems.append(f"customer {customer.id} is outdated in the index")
    problems.extend(_compare_documents(db))
    if len(problems) > MAX_REPORTED:
        more = len(problems) - MAX_REPORTED
        problems = [*problems[:MAX_REPORTED], f"… and {more} more differences"]
    return problems


def _compare_texts(
    db: sqlite3.Connection, store: Store, rid: int, number: int, task_id: str
) -> list[str]:
    wanted = {}
    for event in store.events_of_task(task_id):
        text = event_text(event)
        if text:
            wanted[event.id] = text
    held = dict(db.execute("SELECT event_id, text FROM texts WHERE task_rid=?", (rid,)))
    if wanted == held:
        return []
    missing = len(wanted.keys() - held.keys())
    extra = len(held.keys() - wanted.keys())
    changed = sum(1 for key in wanted.keys() & held.keys() if wanted[key] != held[key])
    parts = [
        f"{count} {what}"
        for count, what in ((missing, "missing"), (extra, "extra"), (changed, "outdated"))
        if count
    ]
    return [f"task #{number} ({task_id}): texts {', '.join(parts)} in the index"]


def _compare_documents(db: sqlite3.Connection) -> list[str]:
    problems = []
    try:
        db.execute("INSERT INTO docs(docs) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        problems.append(f"the word index is damaged ({exc}): rebuild it")
    documents = db.execute("SELECT count(*) FROM docs_docsize").fetchone()[0]
    tasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
    if documents != tasks:
        problems.append(f"the word index has {documents} documents for {tasks} tasks")
    return problems
