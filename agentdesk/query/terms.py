"""The parsed form of a search query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from .fold import PART_SEPARATOR


class QuerySyntaxError(ValueError):
    """A query that cannot be read; ``position`` is the offending character (0-based)."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"  # last activity, most recent first
    OLDEST = "oldest"  # last activity, least recent first
    WAITING = "waiting"  # customers waiting longest first


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a ``"phrase"`` or a ``prefix*`` to find in a task's text.

    ``tokens`` are the folded words it stands for; a term whose text holds no
    letter or digit has none and is dropped by the parser.
    """

    text: str
    tokens: tuple[str, ...]
    prefix: bool = False
    phrase: bool = False
    position: int = 0

    def fts(self) -> str:
        """This term as an FTS5 string: quoted, so nothing in it is read as syntax."""
        body = self.text.replace(PART_SEPARATOR, " ").replace('"', '""')
        return f'"{body}"' + (" *" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class Filter:
    """``key:value``, the value already checked and folded.

    Keys: status, channel, customer, assignee, team, tag, priority, before,
    after, unread, waiting, number, and ``field:<name>`` for a customer field
    (``plan:pro``, from a CRM or a channel). Several filters of one key match
    when any of them does; a negated filter matches when it does not.
    """

    key: str
    value: str
    negated: bool = False
    position: int = 0
    #: For a customer field filter: the field's name (``plan``).
    field: str = ""
    # For before:/after:, a calendar day (local midnight) or an age in seconds.
    day: dt.date | None = None
    age: float | None = None

    def threshold(self, now: float) -> float:
        """The instant a before:/after: filter compares last activity with."""
        if self.day is not None:
            return dt.datetime.combine(self.day, dt.time()).timestamp()
        return now - (self.age or 0.0)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: what must match, what must not, and the order wanted.

    A task matches when every group has a term found in its text, no excluded
    term is found there, and it passes the filters.
    """

    text: str = ""
    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    filters: tuple[Filter, ...] = ()
    sort: Sort | None = None
    by_key: dict[str, list[Filter]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for item in self.filters:
            self.by_key.setdefault(item.key, []).append(item)

    @property
    def has_words(self) -> bool:
        return bool(self.groups)

    @property
    def is_empty(self) -> bool:
        """Nothing to match: every task is a result."""
        return not (self.groups or self.excluded or self.filters)

    @property
    def effective_sort(self) -> Sort:
        """The order asked for, else relevance when there are words, else newest."""
        if self.sort is not None:
            return self.sort
        return Sort.RELEVANCE if self.groups else Sort.NEWEST

    def positive(self, key: str) -> list[Filter]:
        return [f for f in self.by_key.get(key, ()) if not f.negated]

    def negative(self, key: str) -> list[Filter]:
        return [f for f in self.by_key.get(key, ()) if f.negated]
