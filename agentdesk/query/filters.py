"""The ``key:value`` filters of the query language and the values they accept."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from .fold import fold
from .terms import Filter, QuerySyntaxError, Sort

STATUSES = ("open", "pending", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
IS_VALUES = ("unread", "read", "waiting", "open", "pending", "closed")
SORTS = tuple(s.value for s in Sort)

# Every key a person may type, with the key it stands for.
FILTER_KEYS: dict[str, str] = {
    "status": "status",
    "channel": "channel",
    "customer": "customer",
    "from": "customer",
    "assignee": "assignee",
    "team": "team",
    "tag": "tag",
    "priority": "priority",
    "before": "before",
    "after": "after",
    "is": "is",
    "sort": "sort",
}

#: Customer fields a filter may name on any desk: the usual names of what a
#: CRM gives (see docs/enrichers.md). A desk adds the names its CRM gave.
USUAL_FIELDS = ("company", "plan", "owner", "deals", "lifetime_value")
#: The key of a customer field filter: ``FIELD_KEY + name``.
FIELD_KEY = "field:"
_FIELD_NAME = re.compile(r"^[a-z0-9_]{1,40}$")

_AGE = re.compile(r"^(\d{1,6})([hdw])$")
_AGE_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def _one_of(values: Iterable[str]) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def known_keys() -> str:
    return ", ".join(f"{key}:" for key in FILTER_KEYS) + ", #number"


def field_names(extra: Iterable[str] | None) -> frozenset[str]:
    """The customer fields a query may filter on: the usual ones and ``extra``."""
    names = {name.lower() for name in (extra or ()) if isinstance(name, str)}
    return frozenset(n for n in names if _FIELD_NAME.match(n)) | frozenset(USUAL_FIELDS)


def field_filter(name: str, raw: str, *, negated: bool, position: int) -> Filter:
    """``plan:pro``: tasks whose customer's ``plan`` holds the fragment ``pro``."""
    value = fold(raw.strip())
    if not value:
        raise QuerySyntaxError(position, f"empty {name}: at {position}: expected a value after it")
    return Filter(FIELD_KEY + name, value, negated, position, field=name)


def make_filter(
    key: str,
    raw: str,
    *,
    negated: bool,
    position: int,
    known_channels: Iterable[str] | None = None,
) -> Filter | Sort:
    """Check ``raw`` for the filter ``key`` and return the filter (or the sort asked for)."""
    canonical = FILTER_KEYS[key]
    value = fold(raw.strip())
    where = f"{key}:{raw} at {position}"
    if not value:
        raise QuerySyntaxError(position, f"empty {key}: at {position}: expected a value after it")
    if canonical == "sort":
        if negated:
            raise QuerySyntaxError(position, f"-{key}: at {position}: a sort cannot be negated")
        if value not in SORTS:
            raise QuerySyntaxError(position, f"unknown {where}: expected {_one_of(SORTS)}")
        return Sort(value)
    if canonical == "is":
        if value not in IS_VALUES:
            raise QuerySyntaxError(position, f"unknown {where}: expected {_one_of(IS_VALUES)}")
        if value in STATUSES:
            return Filter("status", value, negated, position)
        if value == "read":
            return Filter("unread", "unread", not negated, position)
        return Filter(value, value, negated, position)
    if canonical == "status" and value not in STATUSES:
        raise QuerySyntaxError(position, f"unknown {where}: expected {_one_of(STATUSES)}")
    if canonical == "priority" and value not in PRIORITIES:
        raise QuerySyntaxError(position, f"unknown {where}: expected {_one_of(PRIORITIES)}")
    if canonical == "channel" and known_channels is not None:
        names = sorted({fold(name) for name in known_channels if name})
        if value not in names:
            expected = _one_of(names) if names else "a channel name (none is configured)"
            raise QuerySyntaxError(position, f"unknown {where}: expected {expected}")
    if canonical in ("before", "after"):
        return _time_filter(canonical, value, negated, position, where)
    return Filter(canonical, value, negated, position)


def _time_filter(key: str, value: str, negated: bool, position: int, where: str) -> Filter:
    age = _AGE.match(value)
    if age:
        seconds = int(age.group(1)) * _AGE_SECONDS[age.group(2)]
        return Filter(key, value, negated, position, age=float(seconds))
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise QuerySyntaxError(
            position, f"bad date in {where}: expected YYYY-MM-DD or an age like 24h, 7d, 2w"
        )
    return Filter(key, value, negated, position, day=day)
