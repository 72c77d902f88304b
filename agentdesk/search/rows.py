"""The rows the writers put in the index tables, and the statements that put and read them."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from agentdesk.domain import Task

from . import facets

_TASK_COLUMNS = (
    "doc, id, number, status, channel, channel_kind, customer_id, customer_rid,"
    " customer_name, subject, preview, assignee, last_activity, waiting_since, facets,"
    " fingerprint"
)
INSERT_TASK = f"INSERT INTO tasks(rid, {_TASK_COLUMNS}) VALUES ({','.join('?' * 17)})"
UPDATE_TASK = (
    "UPDATE tasks SET "
    + ", ".join(f"{c.strip()}=?" for c in _TASK_COLUMNS.split(","))
    + " WHERE rid=?"
)

INSERT_CUSTOMER = (
    "INSERT INTO customers(rid, id, name, people, search, fingerprint) VALUES (?,?,?,?,?,?)"
)
UPDATE_CUSTOMER = "UPDATE customers SET name=?, people=?, search=?, fingerprint=? WHERE rid=?"


def last_activity(task: Task) -> float:
    """The task's last activity as the index keeps it (0 for a time that is not one)."""
    return task.updated_at if math.isfinite(task.updated_at) else 0.0


def task_values(task: Task, doc: int, customer_rid: int, fingerprint: str) -> tuple:
    """The task's columns after ``rid``, in ``INSERT_TASK`` order."""
    return (
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
        last_activity(task),
        task.waiting_since,
        facets.of_task(task, customer_rid),
        fingerprint,
    )


# Keys per IN (...) list, well under SQLite's limit on parameters.
_CHUNK = 500


def select_in(db: sqlite3.Connection, sql: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` for ``keys``: ``sql`` has one ``{}`` where the list goes."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows.extend(db.execute(sql.format(",".join("?" * len(chunk))), chunk))
    return rows
