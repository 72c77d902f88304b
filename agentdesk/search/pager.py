"""Counting the matches of a plan and fetching one page of them in order.

Newest and oldest first are document row id order, which FTS5 walks directly
and stops after one page. Relevance puts first the tasks with a query word
in their subject or their customer's name or identities, then the others,
newest first within each; "waiting" puts first the tasks whose customer is
waiting, longest wait first. Each is two such walks, one after the other.

FTS5's bm25() is not used: on every query it counts all the documents holding
each word, some 10-20 ms for a common word over a million messages, whatever
the page. Counting the matches costs about a microsecond each too, so past
``COUNT_CAP`` the count stops and says so (``exact`` is False: "1,000+").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from . import facets
from .plan import Plan
from .terms import Sort

COUNT_CAP = 1000
STRONG, WEAK = 2.0, 1.0  # scores of the two tiers of relevance

Rows = list[tuple[int, float]]  # (document row id, score)
Fetch = Callable[[int, int], Rows]  # (limit, offset) -> rows


class Pager:
    def __init__(self, db: sqlite3.Connection, plan: Plan) -> None:
        self.db = db
        self.plan = plan

    def page(self, limit: int, offset: int) -> tuple[int, bool, Rows]:
        """(number of matches, whether that number is exact, rows from ``offset``).

        Returns up to ``limit`` rows, plus one when more follow.
        """
        plan = self.plan
        fetch = limit + 1
        if plan.everything and plan.sort in (Sort.NEWEST, Sort.OLDEST):
            return self._all_tasks(fetch, offset)
        total = self._count(plan.match, COUNT_CAP + 1)
        exact = total <= COUNT_CAP
        total = min(total, COUNT_CAP)
        # Counting a first part up to the end of the page is enough to split.
        enough = offset + fetch
        if plan.sort == Sort.RELEVANCE and plan.strong:
            first = self._with("AND", plan.strong)
            rest = self._with("NOT", plan.strong)
            head = self._count(first, enough)
            rows = _two_part(
                head, self._newest(first, STRONG), self._newest(rest, WEAK), fetch, offset
            )
        elif plan.sort == Sort.WAITING:
            waiting = self._with("AND", 'facets : "waiting"')
            others = self._with("NOT", 'facets : "waiting"')
            head = self._count(waiting, enough)
            rows = _two_part(head, self._waiting(waiting), self._newest(others), fetch, offset)
        else:
            direction = "ASC" if plan.sort == Sort.OLDEST else "DESC"
            rows = self._ordered(f"docs.rowid {direction}", fetch, offset)
        return total, exact, rows

    def _with(self, operator: str, expression: str) -> str:
        """The plan's expression AND (or NOT) another."""
        match = self.plan.match or f'facets : "{facets.ALL}"'
        return f"({match}) {operator} ({expression})"

    def _count(self, match: str | None, cap: int | None = None) -> int:
        source, params = self.plan.source(match)
        if cap is None:
            return self.db.execute(f"SELECT count(*) {source}", params).fetchone()[0]
        return self.db.execute(
            f"SELECT count(*) FROM (SELECT 1 {source} LIMIT ?)", [*params, cap]
        ).fetchone()[0]

    def _ordered(
        self, order: str, limit: int, offset: int, match: str | None = None, score: float = 0.0
    ) -> Rows:
        source, params = self.plan.source(match)
        return self.db.execute(
            f"SELECT docs.rowid, ? {source} ORDER BY {order} LIMIT ? OFFSET ?",
            [score, *params, limit, offset],
        ).fetchall()

    def _newest(self, match: str, score: float = 0.0) -> Fetch:
        return lambda limit, offset: self._ordered("docs.rowid DESC", limit, offset, match, score)

    def _waiting(self, match: str) -> Fetch:
        def fetch(limit: int, offset: int) -> Rows:
            source, params = self.plan.source(match, join=True)
            return self.db.execute(
                f"SELECT docs.rowid, 0.0 {source}"
                " ORDER BY t.waiting_since, docs.rowid DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()

        return fetch

    def _all_tasks(self, limit: int, offset: int) -> tuple[int, bool, Rows]:
        total = self.db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        direction = "ASC" if self.plan.sort == Sort.OLDEST else "DESC"
        rows = self.db.execute(
            f"SELECT doc, 0.0 FROM tasks ORDER BY doc {direction} LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return total, True, rows


def _two_part(head: int, first: Fetch, rest: Fetch, limit: int, offset: int) -> Rows:
    """Rows ``offset``.. of the list made of ``head`` rows from ``first``, then ``rest``."""
    rows: Rows = []
    if offset < head:
        rows = first(min(limit, head - offset), offset)
    if len(rows) < limit:
        rows = rows + rest(limit - len(rows), max(0, offset - head))
    return rows
