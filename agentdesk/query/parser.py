"""The search query language: Gmail/GitHub style words, phrases and filters.

``refund "not received" -spam status:open from:0612 sort:newest`` — see
docs/search.md for the whole language. ``parse_query`` turns text into a
``Query`` or raises ``QuerySyntaxError`` pointing at the character at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .filters import FILTER_KEYS, field_filter, field_names, known_keys, make_filter
from .fold import PART_SEPARATOR, tokens
from .terms import Filter, Query, QuerySyntaxError, Sort, Term

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_ITEMS",
    "Filter",
    "Query",
    "QuerySyntaxError",
    "Sort",
    "Term",
    "parse_query",
]

# Bounds that keep a pasted wall of text from turning into a huge expression.
MAX_QUERY_CHARS = 2000
MAX_QUERY_ITEMS = 100

_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
# Control characters (a NUL would cut an SQLite string short) and the index's
# part separator are spaces in a query.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f" + PART_SEPARATOR + "]")
_NUMBER = re.compile(r"#(\d{1,18})$")
_OPERATORS = ("OR", "AND")


@dataclass(slots=True)
class _Item:
    kind: str  # "term", "filter", "sort", "op"
    position: int
    value: Term | Filter | Sort | str
    negated: bool = False


def parse_query(
    text: str,
    *,
    known_channels: Iterable[str] | None = None,
    customer_fields: Iterable[str] | None = None,
) -> Query:
    """Parse ``text``. An empty (or blank) query is valid and matches every task.

    ``known_channels`` (channel names and kinds), when given, makes an unknown
    ``channel:`` value an error instead of a filter that matches nothing.
    ``customer_fields``: names of customer fields that may be filtered on
    (``plan:pro``) beside the usual ones (``USUAL_FIELDS``): those a CRM gave.
    """
    text = _CONTROL.sub(" ", text)
    stripped = text.rstrip()
    if len(stripped) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            MAX_QUERY_CHARS,
            f"query too long at {MAX_QUERY_CHARS}: expected at most {MAX_QUERY_CHARS} characters",
        )
    channels = list(known_channels) if known_channels is not None else None
    items = _Lexer(stripped, channels, field_names(customer_fields)).items()
    if sum(item.kind != "op" for item in items) > MAX_QUERY_ITEMS:
        position = items[-1].position
        raise QuerySyntaxError(
            position,
            f"too many terms at {position}: expected at most {MAX_QUERY_ITEMS} words,"
            " phrases and filters",
        )
    return _assemble(stripped, items)


class _Lexer:
    def __init__(self, text: str, known_channels: list[str] | None, fields: frozenset[str]) -> None:
        self.text = text
        self.known_channels = known_channels
        self.fields = fields
        self.i = 0

    def items(self) -> list[_Item]:
        out: list[_Item] = []
        text = self.text
        while True:
            while self.i < len(text) and text[self.i].isspace():
                self.i += 1
            if self.i >= len(text):
                return out
            out.append(self._item())

    def _item(self) -> _Item:
        text, start = self.text, self.i
        negated = False
        if text[start] == "-" and start + 1 < len(text) and not text[start + 1].isspace():
            negated = True
            self.i += 1
        begin = self.i
        if text[begin] == '"':
            return self._phrase(begin, negated)
        word = self._bare_word()
        if not negated and word in _OPERATORS:
            return _Item("op", start, word)
        number = _NUMBER.match(word)
        if number:
            value = Filter("number", str(int(number.group(1))), negated, start)
            return _Item("filter", start, value, negated)
        key = _KEY.match(word)
        if key and "://" not in word:
            return self._filter(key.group(1), begin, key.end(), negated, start)
        return self._term(word, start, negated)

    def _bare_word(self) -> str:
        text, begin = self.text, self.i
        while self.i < len(text) and not text[self.i].isspace() and text[self.i] != '"':
            self.i += 1
        return text[begin : self.i]

    def _quoted(self, quote_at: int) -> str:
        """The text between the quote at ``quote_at`` and its closing quote."""
        end = self.text.find('"', quote_at + 1)
        if end < 0:
            raise QuerySyntaxError(
                quote_at, f'unbalanced quote at {quote_at}: expected a closing "'
            )
        self.i = end + 1
        return self.text[quote_at + 1 : end]

    def _phrase(self, begin: int, negated: bool) -> _Item:
        body = self._quoted(begin)
        prefix = False
        while self.i < len(self.text) and self.text[self.i] == "*":
            prefix = True
            self.i += 1
        term = Term(body, tuple(tokens(body)), prefix, True, begin - negated)
        return _Item("term", term.position, term, negated)

    def _term(self, word: str, start: int, negated: bool) -> _Item:
        prefix = word.endswith("*")
        word = word.rstrip("*")
        return _Item("term", start, Term(word, tuple(tokens(word)), prefix, False, start), negated)

    def _filter(self, key: str, begin: int, value_at: int, negated: bool, start: int) -> _Item:
        lowered = key.lower()
        raw = self.text[begin + value_at : self.i]
        if lowered not in FILTER_KEYS and lowered not in self.fields:
            if not raw:
                # "Re:" and the like: a word followed by a colon, not a filter.
                return self._term(self.text[begin : self.i], start, negated)
            fields = ", ".join(f"{name}:" for name in sorted(self.fields))
            raise QuerySyntaxError(
                begin,
                f'unknown filter "{key}:" at {begin}: expected one of {known_keys()}'
                f" or a customer field ({fields})"
                " (put the word in quotes to search for it as text)",
            )
        if not raw and self.i < len(self.text) and self.text[self.i] == '"':
            raw = self._quoted(self.i)
        if lowered not in FILTER_KEYS:
            field = field_filter(lowered, raw, negated=negated, position=start)
            return _Item("filter", start, field, negated)
        value = make_filter(
            lowered, raw, negated=negated, position=start, known_channels=self.known_channels
        )
        if isinstance(value, Sort):
            return _Item("sort", start, value)
        return _Item("filter", start, value, negated)


def _assemble(text: str, items: list[_Item]) -> Query:
    # Split into runs joined by OR (AND only joins, like a space does).
    runs: list[list[_Item]] = []
    joined = False
    for index, item in enumerate(items):
        if item.kind == "op":
            before = items[index - 1] if index else None
            after = items[index + 1] if index + 1 < len(items) else None
            if before is None or before.kind == "op":
                raise QuerySyntaxError(
                    item.position,
                    f"{item.value} at {item.position}: expected a word, phrase or filter before it",
                )
            if after is None or after.kind == "op":
                raise QuerySyntaxError(
                    item.position,
                    f"{item.value} at {item.position}: expected a word, phrase or filter after it",
                )
            joined = item.value == "OR"
            continue
        if joined:
            runs[-1].append(item)
        else:
            runs.append([item])
        joined = False

    groups: list[tuple[Term, ...]] = []
    excluded: list[Term] = []
    filters: list[Filter] = []
    sort: Sort | None = None
    for run in runs:
        if len(run) > 1:
            _check_or(run)
        first = run[0]
        if first.kind == "sort":
            sort = first.value  # type: ignore[assignment]
        elif first.kind == "filter":
            filters.extend(item.value for item in run)  # type: ignore[misc]
        elif first.negated:
            if first.value.tokens:  # type: ignore[union-attr]
                excluded.append(first.value)  # type: ignore[arg-type]
        else:
            group = tuple(item.value for item in run if item.value.tokens)  # type: ignore[union-attr]
            if group:
                groups.append(group)  # type: ignore[arg-type]
    return Query(text, tuple(groups), tuple(excluded), tuple(filters), sort)


def _check_or(run: list[_Item]) -> None:
    """Words or phrases may be joined by OR, and filters of one key; nothing else."""
    first = run[0]
    for item in run:
        if item.negated:
            raise QuerySyntaxError(
                item.position,
                f"negated term at {item.position} joined by OR: expected a word, phrase or"
                " filter without '-'",
            )
    kinds = {item.kind for item in run}
    if kinds == {"term"}:
        return
    if kinds == {"filter"} and len({item.value.key for item in run}) == 1:  # type: ignore[union-attr]
        return
    odd = next((item for item in run[1:] if item.kind != first.kind), run[-1])
    raise QuerySyntaxError(
        odd.position,
        f"OR at {odd.position} joins different kinds of terms: expected words or phrases on"
        " both sides, or the same filter (status:open OR status:pending)",
    )
