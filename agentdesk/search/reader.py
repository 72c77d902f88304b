"""Answering a query: the plan, one page of matches, and the hits with snippets."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import lexicon
from .pager import Pager
from .plan import build_plan
from .snippet import Segments, Snippets
from .terms import Query, Term

MAX_PAGE = 1000
# A from: fragment matching more customers than this is tested on task rows.
MAX_LISTED_CUSTOMERS = 500

_HIT_COLUMNS = (
    "t.rid, t.id, t.number, t.status, t.channel, t.channel_kind, t.customer_id,"
    " CASE WHEN t.customer_name != '' THEN t.customer_name ELSE"
    " (SELECT name FROM customers WHERE rid = t.customer_rid) END,"
    " t.subject, t.assignee, t.last_activity, t.preview"
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    task_id: str
    number: int
    status: str
    channel: str
    channel_kind: str
    customer_id: str
    customer_name: str
    subject: str
    assignee: str | None
    last_activity: float
    # The best matching text around the matched words; True marks a matched word.
    snippet: Segments
    # Higher ranks first: 2.0 when words were found in the subject or the
    # customer's name or identities, 1.0 elsewhere, 0.0 for a query without words.
    score: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    # Matching tasks; past pager.COUNT_CAP only a lower bound ("1,000+").
    total: int
    offset: int
    # Where the next page starts; None on the last page.
    next_offset: int | None
    total_exact: bool = True


class Reader:
    """Searches the index through its connection (the caller holds the lock)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.snippets = Snippets(db)

    def search(
        self, query: Query, *, me: str | None, now: float, limit: int, offset: int
    ) -> SearchPage:
        limit = max(0, min(limit, MAX_PAGE))
        offset = max(0, offset)
        plan = build_plan(query, me=me, now=now, find=self._find_customers, expand=self._expand)
        total, exact, rows = Pager(self.db, plan).page(limit, offset)
        more = len(rows) > limit
        terms = [term for group in query.groups for term in group]
        hits = self._hits(rows[:limit], terms)
        end = offset + len(hits)
        if not exact:
            total = max(total, end + more)
        return SearchPage(hits, total, offset, end if more else None, exact)

    def _expand(self, prefix: str) -> list[str] | None:
        return lexicon.expand(self.db, prefix)

    def _find_customers(self, fragment: str) -> list[int] | None:
        if len(fragment) >= 3:
            sql = "SELECT rowid FROM customer_grams WHERE customer_grams MATCH ? LIMIT ?"
            param = '"' + fragment.replace('"', '""') + '"'
        else:
            sql = "SELECT rid FROM customers WHERE instr(search, ?) > 0 LIMIT ?"
            param = fragment
        rids = [rid for (rid,) in self.db.execute(sql, (param, MAX_LISTED_CUSTOMERS + 1))]
        return None if len(rids) > MAX_LISTED_CUSTOMERS else rids

    def _hits(self, rows: list[tuple[int, float]], terms: list[Term]) -> list[SearchHit]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            row[0]: row[1:]
            for row in self.db.execute(
                f"SELECT t.doc, {_HIT_COLUMNS} FROM tasks t WHERE t.doc IN ({marks})",
                [doc for doc, _ in rows],
            )
        }
        ordered = [(found[doc], score) for doc, score in rows if doc in found]
        snippets = self.snippets.for_tasks([(row[0], row[8], row[-1]) for row, _ in ordered], terms)
        return [
            SearchHit(*row[1:-1], snippet=snippets[row[0]], score=score) for row, score in ordered
        ]
