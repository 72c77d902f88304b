"""Turning a parsed ``Query`` into SQL over the index tables.

User text reaches SQLite only as bound parameters; words reach FTS5 only as
quoted strings (``Term.fts``), so nothing a person types is read as FTS5 or SQL
syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fold import digits, fold, looks_like_phone
from .terms import Filter, Query, QuerySyntaxError, Sort

# bm25 weights of the subject, body and people columns: a word in the subject
# or the customer's name says more about a task than one in a long thread.
_BM25 = "bm25(docs, 4.0, 1.0, 2.0)"

# Below three characters the trigram index cannot help; scan the customers.
_TRIGRAM_MIN = 3


@dataclass(slots=True)
class Plan:
    match: str | None = None  # FTS5 expression the task's document must match
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: str = ""
    ranked: bool = False

    def from_clause(self) -> tuple[str, list[Any]]:
        """FROM ... WHERE ... and its parameters, shared by the count and the page."""
        if self.match is not None:
            sql = "FROM docs JOIN tasks t ON t.rid = docs.rowid WHERE docs MATCH ?"
            params: list[Any] = [self.match]
        else:
            sql = "FROM tasks t WHERE 1"
            params = []
        for clause in self.where:
            sql += f" AND ({clause})"
        return sql, params + self.params

    def score(self) -> str:
        return f"-{_BM25}" if self.ranked else "0.0"


def build_plan(query: Query, *, me: str | None, now: float) -> Plan:
    plan = Plan()
    positive = " AND ".join(_group(group) for group in query.groups)
    negative = " OR ".join(term.fts() for term in query.excluded)
    if positive:
        plan.match = f"({positive}) NOT ({negative})" if negative else positive
    elif negative:
        plan.where.append("t.rid NOT IN (SELECT rowid FROM docs WHERE docs MATCH ?)")
        plan.params.append(negative)
    for key, filters in query.by_key.items():
        _add_filters(plan, key, filters, me=me, now=now)
    sort = query.effective_sort
    if sort == Sort.RELEVANCE and plan.match is None:
        sort = Sort.NEWEST
    plan.ranked = plan.match is not None
    plan.order = {
        Sort.RELEVANCE: f"{_BM25}, t.last_activity DESC, t.rid DESC",
        Sort.NEWEST: "t.last_activity DESC, t.rid DESC",
        Sort.OLDEST: "t.last_activity ASC, t.rid ASC",
        Sort.WAITING: "t.waiting_since IS NULL, t.waiting_since ASC, t.last_activity DESC, t.rid",
    }[sort]
    return plan


def _group(group: tuple) -> str:
    if len(group) == 1:
        return group[0].fts()
    return "(" + " OR ".join(term.fts() for term in group) + ")"


def _add_filters(
    plan: Plan, key: str, filters: list[Filter], *, me: str | None, now: float
) -> None:
    positive = [f for f in filters if not f.negated]
    if positive:
        parts, params = [], []
        for item in positive:
            clause, values = _condition(item, me=me, now=now)
            parts.append(clause)
            params.extend(values)
        plan.where.append(" OR ".join(f"({p})" for p in parts))
        plan.params.extend(params)
    for item in filters:
        if item.negated:
            clause, values = _condition(item, me=me, now=now)
            plan.where.append(f"NOT ({clause})")
            plan.params.extend(values)


def _condition(item: Filter, *, me: str | None, now: float) -> tuple[str, list[Any]]:
    """SQL that is true (never NULL) when a task passes ``item`` (ignoring negation)."""
    key, value = item.key, item.value
    if key in ("status", "priority"):
        return f"t.{key} = ?", [value]
    if key == "number":
        return "t.number = ?", [int(value)]
    if key == "channel":
        return "t.channel_f = ? OR t.channel_kind_f = ?", [value, value]
    if key == "assignee":
        if value == "me":
            if not me:
                raise QuerySyntaxError(
                    item.position,
                    f"assignee:me at {item.position}: expected a signed-in agent to stand for"
                    " 'me'; name the agent instead",
                )
            value = fold(me)
        return "t.assignee_f = ?", ["" if value == "none" else value]
    if key == "team":
        return "t.team_f = ?", ["" if value == "none" else value]
    if key == "tag":
        return "t.rid IN (SELECT rid FROM task_tags WHERE tag = ?)", [value]
    if key == "unread":
        return "t.unread = 1", []
    if key == "waiting":
        return "t.waiting_since IS NOT NULL", []
    if key == "before":
        return "t.last_activity < ?", [item.threshold(now)]
    if key == "after":
        return "t.last_activity >= ?", [item.threshold(now)]
    if key == "customer":
        return _customer_condition(value)
    raise AssertionError(f"unhandled filter {key}")


def _customer_condition(value: str) -> tuple[str, list[Any]]:
    fragments = [value]
    if looks_like_phone(value):
        fragments.append(digits(value))
    parts, params = [], []
    for fragment in dict.fromkeys(fragments):
        if len(fragment) >= _TRIGRAM_MIN:
            parts.append("SELECT rowid FROM customer_grams WHERE customer_grams MATCH ?")
            params.append('"' + fragment.replace('"', '""') + '"')
        else:
            parts.append("SELECT rid FROM customers WHERE instr(search, ?) > 0")
            params.append(fragment)
    return "t.customer_rid IN (" + " UNION ".join(parts) + ")", params
