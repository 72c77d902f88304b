"""Writing to an FTS5 table in the order it handles best.

FTS5 keeps a transaction's changes to a table in memory and writes them out
(a new segment on disk, to be merged later) whenever a row id is not above
the previous one. So changes go in row id order, each removal before the
insertion that may reuse its row id, and each run of one kind goes through a
single ``executemany``.
"""

from __future__ import annotations

import sqlite3
from itertools import groupby
from typing import Any

# (row id, 0 to remove or 1 to insert, the statement's parameters)
Change = tuple[int, int, tuple[Any, ...]]


def write_in_order(db: sqlite3.Connection, changes: list[Change], remove: str, insert: str) -> None:
    """Run ``remove`` and ``insert`` for ``changes``, sorted as FTS5 likes them."""
    changes.sort(key=lambda change: change[:2])
    for inserting, run in groupby(changes, key=lambda change: change[1]):
        db.executemany(insert if inserting else remove, [change[2] for change in run])
