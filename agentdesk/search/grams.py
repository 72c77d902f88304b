"""Changes to the customers' trigram index, held until the write group commits.

A change to a customer's ``search`` text removes its old trigrams and adds
the new ones. Written group by group, each group would start below the row
ids the previous one ended on, which makes FTS5 write out what it holds (see
fts_order.py); held until the write group commits (searches commit first),
they go in one pass, and a customer changed several times meanwhile costs
one removal and one insertion.
"""

from __future__ import annotations

import sqlite3

from .fts_order import Change, write_in_order


class PendingGrams:
    """The ``customer_grams`` changes not written yet, by customer row id."""

    def __init__(self) -> None:
        # rid -> (search as the trigram index holds it, or None; search now)
        self._changes: dict[int, tuple[str | None, str]] = {}

    def add(self, rid: int, indexed: str | None, search: str) -> None:
        """Customer ``rid``'s search text is now ``search``; ``indexed`` is what
        its row held before (None for a new customer), ignored when a change
        to it is already held."""
        held = self._changes.get(rid)
        self._changes[rid] = (held[0] if held else indexed, search)

    def holds(self, rid: int) -> bool:
        return rid in self._changes

    def write(self, db: sqlite3.Connection) -> None:
        changes: list[Change] = []
        for rid, (indexed, search) in self._changes.items():
            if indexed == search:
                continue
            if indexed is not None:
                changes.append((rid, 0, (rid, indexed)))
            changes.append((rid, 1, (rid, search)))
        self._changes.clear()
        write_in_order(db, "customer_grams", "search", changes)

    def clear(self) -> None:
        self._changes.clear()
