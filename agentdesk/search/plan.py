"""Turning a parsed ``Query`` into an FTS5 expression and SQL over the index.

Words become terms on the subject, body and people columns; filters become
facet tokens (see ``facets``); before:/after: become a range of document row
ids, which follow last activity. Words reach FTS5 only as quoted strings
(``Term.fts``) and every value is a bound parameter, so nothing a person
types is read as FTS5 or SQL syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentdesk.query.fold import digits, fold, looks_like_phone
from agentdesk.query.terms import Filter, Query, QuerySyntaxError, Sort, Term

from . import facets
from .records import time_rowid

_TEXT = "{subject body people}"
_STRONG = "{subject people}"

# Customers matching a from: fragment, or None when too many to list.
FindCustomers = Callable[[str], list[int] | None]
# The indexed words a prefix stands for, or None when too many to list.
ExpandPrefix = Callable[[str], list[str] | None]


@dataclass(slots=True)
class Plan:
    match: str | None = None
    # Any of the query's words in the subject or the customer's name: the
    # tasks relevance puts first.
    strong: str | None = None
    low: int | None = None  # document row ids: low <= rowid < high
    high: int | None = None
    where: list[str] = field(default_factory=list)  # on tasks t, when facets cannot say it
    params: list[Any] = field(default_factory=list)
    sort: Sort = Sort.NEWEST
    ranked: bool = False

    @property
    def everything(self) -> bool:
        return self.match is None and self.low is None and self.high is None and not self.where

    def source(self, match: str | None = None, *, join: bool = False) -> tuple[str, list[Any]]:
        """FROM ... WHERE ... over the documents (joined to tasks when needed)."""
        if self.where or join:
            sql = "FROM docs JOIN search_tasks t ON t.doc = docs.rowid WHERE docs MATCH ?"
        else:
            sql = "FROM docs WHERE docs MATCH ?"
        params: list[Any] = [match or self.match or _phrase(facets.ALL, "facets")]
        if self.low is not None:
            sql += " AND docs.rowid >= ?"
            params.append(self.low)
        if self.high is not None:
            sql += " AND docs.rowid < ?"
            params.append(self.high)
        for clause in self.where:
            sql += f" AND ({clause})"
        return sql, params + self.params


def _phrase(word: str, column: str) -> str:
    return f'{column} : "{word}"'


def _any(words: list[str]) -> str:
    return "facets : (" + " OR ".join(f'"{w}"' for w in words) + ")"


def term_fts(term: Term, expand: ExpandPrefix) -> str:
    """``term`` for FTS5; a prefix becomes the OR of the words it stands for.

    Only for terms in plain letters and digits once folded, where the words
    the index holds are exactly the folded tokens seen here.
    """
    if not term.prefix or not fold(term.text).isascii():
        return term.fts()
    words = expand(term.tokens[-1])
    if not words:
        return term.fts()
    head = " ".join(term.tokens[:-1])
    return "(" + " OR ".join(f'"{head} {word}"' if head else f'"{word}"' for word in words) + ")"


def _terms(terms: tuple[Term, ...] | list[Term], joiner: str, expand: ExpandPrefix) -> str:
    return f" {joiner} ".join(term_fts(term, expand) for term in terms)


def build_plan(
    query: Query, *, me: str | None, now: float, find: FindCustomers, expand: ExpandPrefix
) -> Plan:
    plan = Plan()
    positive: list[str] = []
    negative: list[str] = []
    if query.groups:
        groups = [
            f"({_terms(group, 'OR', expand)})" if len(group) > 1 else term_fts(group[0], expand)
            for group in query.groups
        ]
        positive.append(f"{_TEXT} : ({' AND '.join(groups)})")
        every = [term for group in query.groups for term in group]
        plan.strong = f"{_STRONG} : ({_terms(every, 'OR', expand)})"
    if query.excluded:
        negative.append(f"{_TEXT} : ({_terms(query.excluded, 'OR', expand)})")
    for key, filters in query.by_key.items():
        if key in ("before", "after"):
            _time_bounds(plan, key, filters, now)
        elif key == "customer":
            _customer_filters(plan, filters, find, positive, negative)
        elif filters[0].field:
            _field_filters(plan, filters)
        else:
            wanted = [w for f in filters if not f.negated for w in _words(f, me=me)]
            if wanted:
                positive.append(_any(wanted))
            negative.extend(_any(_words(f, me=me)) for f in filters if f.negated)
    if positive or negative:
        left = " AND ".join(positive) if positive else _phrase(facets.ALL, "facets")
        plan.match = f"({left}) NOT ({' OR '.join(negative)})" if negative else left
    plan.ranked = bool(query.groups)
    plan.sort = query.effective_sort
    if plan.sort == Sort.RELEVANCE and not plan.ranked:
        plan.sort = Sort.NEWEST
    return plan


def _time_bounds(plan: Plan, key: str, filters: list[Filter], now: float) -> None:
    # before:X keeps last activity < X, after:X keeps >= X; several of one key
    # widen (any may match), a negated one is the opposite bound.
    lows: list[int] = []
    highs: list[int] = []
    positive = [time_rowid(f.threshold(now)) for f in filters if not f.negated]
    if positive:
        (highs if key == "before" else lows).append(
            max(positive) if key == "before" else min(positive)
        )
    for item in filters:
        if item.negated:
            (lows if key == "before" else highs).append(time_rowid(item.threshold(now)))
    if lows:
        plan.low = max([*lows, plan.low] if plan.low is not None else lows)
    if highs:
        plan.high = min([*highs, plan.high] if plan.high is not None else highs)


def _words(item: Filter, *, me: str | None) -> list[str]:
    """Facet tokens any of which makes a task pass ``item`` (ignoring negation)."""
    key, value = item.key, item.value
    if key == "status":
        return [facets.status(value)]
    if key == "priority":
        return [facets.priority(value)]
    if key == "number":
        return [facets.number(int(value))]
    if key == "channel":
        return facets.channel(value)
    if key == "tag":
        return [facets.tag(value)]
    if key == "team":
        return [facets.team(value)]
    if key == "unread":
        return [facets.UNREAD]
    if key == "waiting":
        return [facets.WAITING]
    if key == "assignee":
        if value == "me":
            if not me:
                raise QuerySyntaxError(
                    item.position,
                    f"assignee:me at {item.position}: expected a signed-in agent to stand for"
                    " 'me'; name the agent instead",
                )
            value = fold(me)
        return [facets.assignee(value)]
    raise AssertionError(f"unhandled filter {key}")


def customer_fragments(value: str) -> list[str]:
    """What a from: value is looked for as: itself, and its digits if it looks like a phone."""
    fragments = [value]
    if looks_like_phone(value):
        fragments.append(digits(value))
    return list(dict.fromkeys(fragments))


def _customer_rids(value: str, find: FindCustomers) -> list[int] | None:
    rids: set[int] = set()
    for fragment in customer_fragments(value):
        found = find(fragment)
        if found is None:
            return None
        rids.update(found)
    return sorted(rids)


def _customer_filters(
    plan: Plan, filters: list[Filter], find: FindCustomers, positive: list, negative: list
) -> None:
    """from:/customer: as customer tokens, or as SQL on the task row when a
    fragment matches too many customers to list."""
    wanted = [f for f in filters if not f.negated]
    if wanted:
        found = [_customer_rids(f.value, find) for f in wanted]
        if all(rids is not None for rids in found):
            words = [facets.customer(rid) for rids in found for rid in rids]  # type: ignore[union-attr]
            positive.append(_any(words or [facets.NOTHING]))
        else:
            clauses = [customer_sql(f.value) for f in wanted]
            plan.where.append(" OR ".join(f"({c})" for c, _ in clauses))
            plan.params.extend(p for _, params in clauses for p in params)
    for item in filters:
        if not item.negated:
            continue
        rids = _customer_rids(item.value, find)
        if rids is None:
            clause, params = customer_sql(item.value)
            plan.where.append(f"NOT ({clause})")
            plan.params.extend(params)
        elif rids:
            negative.append(_any([facets.customer(rid) for rid in rids]))


#: A customer field's value, folded (``FOLD_FUNCTION`` is registered by the reader).
FOLD_FUNCTION = "agentdesk_fold"
_FIELD_SQL = (
    "t.customer_rid IN (SELECT s.rid FROM search_customers s JOIN customers c ON c.id = s.id"
    f" WHERE instr({FOLD_FUNCTION}(json_extract(CAST(c.doc AS TEXT), ?)), ?) > 0)"
)


def _field_filters(plan: Plan, filters: list[Filter]) -> None:
    """``plan:pro`` as SQL on the task row: its customer's field holds the fragment."""
    path = '$.attributes."' + filters[0].field + '"'
    wanted = [f for f in filters if not f.negated]
    if wanted:
        plan.where.append(" OR ".join(f"({_FIELD_SQL})" for _ in wanted))
        for item in wanted:
            plan.params.extend((path, item.value))
    for item in filters:
        if item.negated:
            plan.where.append(f"NOT ({_FIELD_SQL})")
            plan.params.extend((path, item.value))


def customer_sql(value: str) -> tuple[str, list[Any]]:
    parts, params = [], []
    for fragment in customer_fragments(value):
        parts.append("SELECT rid FROM search_customers WHERE instr(search, ?) > 0")
        params.append(fragment)
    return "t.customer_rid IN (" + " UNION ".join(parts) + ")", params
