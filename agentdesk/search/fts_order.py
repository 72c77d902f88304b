"""Writing to an FTS5 table in the order it handles best.

FTS5 keeps a transaction's changes to a table in memory and writes them out
(a new segment on disk, to be merged later) whenever a row id is not above
the previous one. So changes go in row id order, each removal before the
insertion that may reuse its row id. Removals and insertions are one
statement (a removal is an insertion whose command column says ``delete``;
NULL there is a plain insertion), so a whole run goes through a single
``executemany``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

# (row id, 0 to remove or 1 to insert, the row: row id then the columns)
Change = tuple[int, int, tuple[Any, ...]]


def write_in_order(db: sqlite3.Connection, table: str, columns: str, changes: list[Change]) -> None:
    """Apply ``changes`` to the FTS5 ``table`` (``columns``: its columns, comma
    separated, in the order of the rows), sorted as FTS5 likes them."""
    if not changes:
        return
    changes.sort(key=lambda change: change[:2])
    marks = ",".join("?" * (columns.count(",") + 3))
    db.executemany(
        f"INSERT INTO {table}({table}, rowid, {columns}) VALUES ({marks})",
        [(None if inserting else "delete", *row) for _, inserting, row in changes],
    )
