"""Recent searches: the last distinct queries of each agent, newest first."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from tinydb import where
from tinydb.table import Table

#: How many queries are remembered per agent.
RECENT_SEARCHES = 20


def remember(queries: Sequence[str], query: str, limit: int = RECENT_SEARCHES) -> list[str]:
    """``queries`` with ``query`` on top, once, at most ``limit`` long."""
    query = query.strip()
    if not query:
        return list(queries[:limit])
    return [query, *(q for q in queries if q != query)][:limit]


class SearchTable:
    """The ``searches`` table: one document per agent holding its recent queries."""

    def __init__(self, table: Table, lock: threading.RLock) -> None:
        self._table = table
        self._lock = lock

    def load(self, agent: str) -> list[str]:
        with self._lock:
            doc = self._table.get(where("agent") == agent)
        queries = doc.get("queries") if isinstance(doc, dict) else None
        if not isinstance(queries, list):
            return []
        kept: list[str] = []
        for query in queries:  # a hand-edited file may hold anything
            if isinstance(query, str) and query.strip() and query.strip() not in kept:
                kept.append(query.strip())
        return kept[:RECENT_SEARCHES]

    def save(self, agent: str, queries: Sequence[str]) -> None:
        with self._lock:
            self._table.upsert(
                {"agent": agent, "queries": list(queries[:RECENT_SEARCHES])},
                where("agent") == agent,
            )
