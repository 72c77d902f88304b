"""Counting the matches of a plan and fetching one page of them in order.

Newest and oldest first are document row id order, which FTS5 walks directly
and stops after one page. Relevance puts first the tasks with a query word in
their subject or their customer's name or identities, then the others, newest
first within each; "waiting" puts first the tasks whose customer is waiting,
longest wait first. Each is a few such walks, one after the other.

FTS5's bm25() is not used: on every query it counts all the documents holding
each word, some 10-20 ms for a common word over a million messages, whatever
the page. Counting the matches costs about a microsecond each too, so past
``COUNT_CAP`` the count stops and says so (``exact`` is False: "1,000+"). For
the same reason relevance sorts the ``RANK_WINDOW`` most recent matches, older
ones following newest first: telling subject matches from the others costs
reading each match's positions.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable

from agentdesk.query.terms import Sort

from . import facets
from .plan import Plan

COUNT_CAP = 1000
RANK_WINDOW = 250
STRONG, WEAK = 2.0, 1.0  # scores of the two tiers of relevance

Rows = list[tuple[int, float]]  # (document row id, score)
Fetch = Callable[[int, int], Rows]  # (limit, offset) -> rows
_WAITING = f'facets : "{facets.WAITING}"'


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
        total = self._count(plan, plan.match, COUNT_CAP + 1)
        exact = total <= COUNT_CAP
        total = min(total, COUNT_CAP)
        if plan.sort == Sort.RELEVANCE and plan.strong:
            more = not exact or total > RANK_WINDOW
            beyond = self._nth_newest(RANK_WINDOW) if more else None
            rows = self._relevance(fetch, offset, min(total, RANK_WINDOW), beyond)
        elif plan.sort == Sort.WAITING:
            waiting, others = self._with("AND", _WAITING), self._with("NOT", _WAITING)
            # Counting a first part up to the end of the page is enough to split.
            head = self._count(plan, waiting, offset + fetch)
            parts = [(head, self._waiting(waiting)), (None, self._newest(plan, others))]
            rows = _parts(parts, fetch, offset)
        else:
            direction = "ASC" if plan.sort == Sort.OLDEST else "DESC"
            rows = self._ordered(plan, f"docs.rowid {direction}", fetch, offset)
        return total, exact, rows

    def _relevance(self, fetch: int, offset: int, window: int, beyond: int | None) -> Rows:
        """Strong matches first, then the others, among the ``window`` newest
        matches (all of them when ``beyond`` is None); then the older ones."""
        plan = self.plan
        recent = plan if beyond is None else _rows_above(plan, beyond)
        first = self._with("AND", plan.strong)  # type: ignore[arg-type]
        rest = self._with("NOT", plan.strong)  # type: ignore[arg-type]
        head = self._count(recent, first)
        parts: list[tuple[int | None, Fetch]] = [
            (head, self._newest(recent, first, STRONG)),
            (window - head, self._newest(recent, rest, WEAK)),
        ]
        if beyond is not None:
            parts.append((None, self._newest(_rows_up_to(plan, beyond), plan.match, WEAK)))
        return _parts(parts, fetch, offset)

    def _with(self, operator: str, expression: str) -> str:
        """The plan's expression AND (or NOT) another."""
        match = self.plan.match or f'facets : "{facets.ALL}"'
        return f"({match}) {operator} ({expression})"

    def _nth_newest(self, n: int) -> int | None:
        """The row id of the match after the ``n`` most recent ones."""
        source, params = self.plan.source()
        row = self.db.execute(
            f"SELECT docs.rowid {source} ORDER BY docs.rowid DESC LIMIT 1 OFFSET ?", [*params, n]
        ).fetchone()
        return row[0] if row else None

    def _count(self, plan: Plan, match: str | None, cap: int | None = None) -> int:
        source, params = plan.source(match)
        if cap is None:
            return self.db.execute(f"SELECT count(*) {source}", params).fetchone()[0]
        return self.db.execute(
            f"SELECT count(*) FROM (SELECT 1 {source} LIMIT ?)", [*params, cap]
        ).fetchone()[0]

    def _ordered(
        self,
        plan: Plan,
        order: str,
        limit: int,
        offset: int,
        match: str | None = None,
        score: float = 0.0,
    ) -> Rows:
        source, params = plan.source(match)
        return self.db.execute(
            f"SELECT docs.rowid, ? {source} ORDER BY {order} LIMIT ? OFFSET ?",
            [score, *params, limit, offset],
        ).fetchall()

    def _newest(self, plan: Plan, match: str | None, score: float = 0.0) -> Fetch:
        return lambda limit, offset: self._ordered(
            plan, "docs.rowid DESC", limit, offset, match, score
        )

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
        total = self.db.execute("SELECT count(*) FROM search_tasks").fetchone()[0]
        direction = "ASC" if self.plan.sort == Sort.OLDEST else "DESC"
        rows = self.db.execute(
            f"SELECT doc, 0.0 FROM search_tasks ORDER BY doc {direction} LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return total, True, rows


def _rows_above(plan: Plan, rowid: int) -> Plan:
    low = rowid + 1 if plan.low is None else max(plan.low, rowid + 1)
    return dataclasses.replace(plan, low=low)


def _rows_up_to(plan: Plan, rowid: int) -> Plan:
    high = rowid + 1 if plan.high is None else min(plan.high, rowid + 1)
    return dataclasses.replace(plan, high=high)


def _parts(parts: list[tuple[int | None, Fetch]], limit: int, offset: int) -> Rows:
    """Rows ``offset``.. of the list made of each part in turn.

    Each part is (its size, or None for the last, and how to fetch from it);
    a size may be a lower bound when it reaches past the end of the page.
    """
    rows: Rows = []
    for size, fetch in parts:
        if len(rows) >= limit:
            break
        if size is not None and offset >= size:
            offset -= size
            continue
        wanted = limit - len(rows)
        if size is not None:
            wanted = min(wanted, size - offset)
        rows += fetch(wanted, offset)
        offset = 0
    return rows
