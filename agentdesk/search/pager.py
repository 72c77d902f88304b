"""Counting the matches of a plan and fetching one page of them in order.

Newest and oldest first are document row id order, which FTS5 walks directly
and stops after one page. Ranking every match by bm25 costs a few
microseconds per match, too much for a word found in most tasks; so when a
query matches more than ``RANK_WINDOW`` tasks, relevance ranks the most
recent ``RANK_WINDOW`` of them and the rest follow newest first. "Waiting"
puts the tasks whose customer is waiting first, longest wait first.

Counting costs a fraction of a microsecond per match; past ``COUNT_CAP``
matches the count stops and says so (``exact`` is False: "10,000+").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from . import facets
from .plan import BM25, Plan
from .terms import Sort

RANK_WINDOW = 500
COUNT_CAP = 10_000

Rows = list[tuple[int, float]]  # (document row id, score)
Fetch = Callable[[int, int], Rows]  # (limit, offset) -> rows


class Pager:
    def __init__(self, db: sqlite3.Connection, plan: Plan) -> None:
        self.db = db
        self.plan = plan
        self.score = f"-{BM25}" if plan.ranked else "0.0"

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
        if plan.sort == Sort.RELEVANCE and total > RANK_WINDOW:
            head = RANK_WINDOW
            rows = _two_part(head, self._window, self._newest_after(head), fetch, offset)
        elif plan.sort == Sort.RELEVANCE:
            rows = self._ordered(f"{BM25}, docs.rowid DESC", fetch, offset)
        elif plan.sort == Sort.WAITING:
            waiting = self._with("AND", "waiting")
            others = self._with("NOT", "waiting")
            head = self._count(waiting)
            rows = _two_part(head, self._waiting(waiting), self._newest(others), fetch, offset)
        else:
            direction = "ASC" if plan.sort == Sort.OLDEST else "DESC"
            rows = self._ordered(f"docs.rowid {direction}", fetch, offset)
        return total, exact, rows

    def _with(self, operator: str, word: str) -> str:
        """The plan's expression AND (or NOT) a facet word."""
        match = self.plan.match or f'facets : "{facets.ALL}"'
        return f'({match}) {operator} facets : "{word}"'

    def _count(self, match: str | None, cap: int | None = None) -> int:
        source, params = self.plan.source(match)
        if cap is None:
            return self.db.execute(f"SELECT count(*) {source}", params).fetchone()[0]
        return self.db.execute(
            f"SELECT count(*) FROM (SELECT 1 {source} LIMIT ?)", [*params, cap]
        ).fetchone()[0]

    def _ordered(self, order: str, limit: int, offset: int, match: str | None = None) -> Rows:
        source, params = self.plan.source(match)
        return self.db.execute(
            f"SELECT docs.rowid, {self.score} {source} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()

    def _window(self, limit: int, offset: int) -> Rows:
        source, params = self.plan.source()
        return self.db.execute(
            f"SELECT id, score FROM (SELECT docs.rowid AS id, -{BM25} AS score {source}"
            " ORDER BY docs.rowid DESC LIMIT ?) ORDER BY score DESC, id DESC LIMIT ? OFFSET ?",
            [*params, RANK_WINDOW, limit, offset],
        ).fetchall()

    def _newest_after(self, skip: int) -> Fetch:
        return lambda limit, offset: self._ordered("docs.rowid DESC", limit, offset + skip)

    def _newest(self, match: str) -> Fetch:
        return lambda limit, offset: self._ordered("docs.rowid DESC", limit, offset, match)

    def _waiting(self, match: str) -> Fetch:
        def fetch(limit: int, offset: int) -> Rows:
            source, params = self.plan.source(match, join=True)
            return self.db.execute(
                f"SELECT docs.rowid, {self.score} {source}"
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
