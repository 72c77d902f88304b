"""Answering a query: the plan, one page of matches, and the hits with snippets."""

from __future__ import annotations

import sqlite3

from agentdesk.api import SearchHit, SearchPage, Segments
from agentdesk.domain import Task
from agentdesk.domain.codec import decode
from agentdesk.query.fold import fold
from agentdesk.query.terms import Query, Term

from . import lexicon
from .pager import Pager
from .plan import FOLD_FUNCTION, build_plan
from .records import last_activity
from .snippet import Snippets

MAX_PAGE = 1000
# A from: fragment matching more customers than this is tested on task rows.
MAX_LISTED_CUSTOMERS = 500

_HITS = (
    "SELECT s.doc, s.rid, t.doc, c.name FROM search_tasks s JOIN tasks t ON t.rid = s.rid"
    " JOIN search_customers c ON c.rid = s.customer_rid WHERE s.doc IN ({})"
)


def _fold_or_empty(value: object) -> str:
    return fold(value) if isinstance(value, str) else ""


def hit_of(task: Task, customer_name: str, snippet: Segments, score: float) -> SearchHit:
    """The hit for ``task`` (``customer_name`` stands in when the task has none)."""
    return SearchHit(
        task_id=task.id,
        number=task.number,
        status=str(task.status),
        channel=task.channel,
        channel_kind=task.channel_kind,
        customer_id=task.customer_id,
        customer_name=task.customer_name or customer_name,
        subject=task.subject,
        assignee=task.assignee,
        last_activity=last_activity(task),
        snippet=snippet,
        score=score,
    )


class Reader:
    """Searches the index through the store's connection, on the store's thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.snippets = Snippets(db)
        # Customer field filters compare folded values, as every filter does.
        db.create_function(FOLD_FUNCTION, 1, _fold_or_empty, deterministic=True)

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
            sql = "SELECT rid FROM search_customers WHERE instr(search, ?) > 0 LIMIT ?"
            param = fragment
        rids = [rid for (rid,) in self.db.execute(sql, (param, MAX_LISTED_CUSTOMERS + 1))]
        return None if len(rids) > MAX_LISTED_CUSTOMERS else rids

    def _hits(self, rows: list[tuple[int, float]], terms: list[Term]) -> list[SearchHit]:
        if not rows:
            return []
        found = {
            doc: (rid, decode(Task, data), name)
            for doc, rid, data, name in self.db.execute(
                _HITS.format(",".join("?" * len(rows))), [doc for doc, _ in rows]
            )
        }
        ordered = [(found[doc], score) for doc, score in rows if doc in found]
        snippets = self.snippets.for_tasks(
            [(rid, task.subject, task.preview) for (rid, task, _), _ in ordered], terms
        )
        return [hit_of(task, name, snippets[rid], score) for (rid, task, name), score in ordered]
