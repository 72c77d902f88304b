"""``[business_hours]`` in the config: the hours SLA clocks and reports count.

```toml
[business_hours]
timezone = "Europe/Paris"          # an IANA name: the hours and holidays are its wall clock
mon = "09:00-18:00"
tue = "09:00-12:30, 13:30-18:00"   # several ranges a day: a lunch break
wed = "09:00-18:00"
thu = "09:00-18:00"
fri = "09:00-17:00"
# sat, sun absent: closed (or say so: sat = "closed")
holidays = ["2026-12-25", "2027-01-01"]   # closed all day; TOML dates work too
```

Times are ``HH:MM`` from 00:00 to 24:00; a range past midnight is two
(``fri = "22:00-24:00"``, ``sat = "00:00-06:00"``). Without the table, or with
an empty one, every hour counts (24/7). With a table naming no day, every hour
counts but the holidays'.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentdesk.metrics.calendar import (
    ALWAYS,
    DAY_MINUTES,
    FULL_WEEK,
    BusinessCalendar,
    Ranges,
    normalize_day,
)

if TYPE_CHECKING:
    from .config import _Reader

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_business_hours(r: _Reader, table: dict[str, Any]) -> BusinessCalendar:
    """The calendar a ``[business_hours]`` table describes; ALWAYS when it is empty."""
    r.check_keys("business_hours", table, {"timezone", "holidays", *DAYS})
    if not table:
        return ALWAYS
    timezone = r.text("business_hours.timezone", table.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail(
            "business_hours.timezone",
            f"unknown time zone {timezone!r} (expected an IANA name such as Europe/Paris)",
        ) from None
    if any(name in table for name in DAYS):
        hours = tuple(_day(r, name, table.get(name, "closed")) for name in DAYS)
        if not any(hours):
            raise r.fail(
                "business_hours",
                "every day is closed, so no time would ever count "
                "(give a day its hours, or remove the table for 24/7)",
            )
    else:
        hours = FULL_WEEK
    holidays = _holidays(r, table.get("holidays", []))
    return BusinessCalendar(timezone=timezone, hours=hours, holidays=holidays)


def _day(r: _Reader, name: str, value: Any) -> Ranges:
    key = f"business_hours.{name}"
    text = r.text(key, value).strip()
    if text.lower() in ("", "closed"):
        return ()
    ranges = []
    for part in (piece.strip() for piece in text.split(",")):
        match = _RANGE.match(part)
        if match is None:
            raise r.fail(
                key,
                f'expected opening hours like "09:00-18:00" (several separated by commas, '
                f'or "closed"), got {part!r}',
            )
        hour, minute, close_hour, close_minute = (int(g) for g in match.groups())
        ranges.append((_minute(r, key, hour, minute), _minute(r, key, close_hour, close_minute)))
    try:
        return normalize_day(ranges)
    except ValueError as exc:
        raise r.fail(key, str(exc)) from None


def _minute(r: _Reader, key: str, hour: int, minute: int) -> int:
    value = hour * 60 + minute
    if minute > 59 or value > DAY_MINUTES:
        raise r.fail(key, f"{hour:02d}:{minute:02d} is not a time of day (00:00 to 24:00)")
    return value


def _holidays(r: _Reader, value: Any) -> frozenset[date]:
    key = "business_hours.holidays"
    if not isinstance(value, list):
        raise r.fail(key, 'expected a list of dates, such as ["2026-12-25"]')
    days = set()
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        # A TOML date arrives as a date; a date-time is a date too, but means a moment.
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        text = r.text(where, item) if not isinstance(item, datetime) else str(item)
        try:
            if not _DATE.match(text):
                raise ValueError
            days.add(date.fromisoformat(text))
        except ValueError:
            raise r.fail(where, f"{text!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(days)
