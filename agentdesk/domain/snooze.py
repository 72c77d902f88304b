"""Reading a snooze time typed by a person: ``1h``, ``tomorrow 9:00``, ``monday``.

Pure: the caller passes "now" and the time zone, so the answer is reproducible.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_UNITS = {
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION = re.compile(r"^(?:in\s+)?((?:\d+\s*[a-z]+\s*)+)$")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: When a day is named without a time of day.
DEFAULT_HOUR = 9


class SnoozeError(ValueError):
    """Text that does not name a future time; the message says what is accepted."""


HELP = "try 30m, 2h, 1d, tomorrow, tomorrow 9:00, friday 14:00, 18:00 or 2025-03-01 10:00"


def parse_snooze(text: str, now: float, tz: tzinfo | None = None) -> float:
    """The epoch time ``text`` names, relative to ``now`` in time zone ``tz``.

    Durations (``45m``, ``1h30m``, ``in 2 days``) count from now. A day (``tomorrow``,
    ``monday``, ``2025-03-01``) with an optional time of day (``9:00``, ``5pm``) is
    that moment; a day alone means 9:00. A time of day alone is its next occurrence.
    """
    words = " ".join(text.lower().split())
    if not words:
        raise SnoozeError(f"say when; {HELP}")
    current = datetime.fromtimestamp(now, tz).astimezone(tz)
    match = _DURATION.match(words)
    if match:
        seconds = _duration_seconds(match.group(1))
        if seconds <= 0:
            raise SnoozeError(f"{text!r} is not in the future; {HELP}")
        return now + seconds
    day_word, _, rest = words.partition(" ")
    day = _day(day_word, current)
    if day is not None:
        at = _clock(rest) if rest else time(DEFAULT_HOUR, 0)
        if at is None:
            raise SnoozeError(f"cannot read the time {rest!r}; {HELP}")
        when = datetime.combine(day, at, current.tzinfo)
    else:
        at = _clock(words)
        if at is None:
            raise SnoozeError(f"cannot read {text!r}; {HELP}")
        when = datetime.combine(current.date(), at, current.tzinfo)
        if when <= current:
            when += timedelta(days=1)
    if when <= current:
        raise SnoozeError(f"{text!r} is in the past; {HELP}")
    return when.timestamp()


def _duration_seconds(text: str) -> int:
    total = 0
    for amount, unit in _DURATION_PART.findall(text):
        if unit not in _UNITS:
            raise SnoozeError(f"unknown unit {unit!r}; {HELP}")
        total += int(amount) * _UNITS[unit]
    return total


def _day(word: str, current: datetime) -> date | None:
    if word == "today":
        return current.date()
    if word == "tomorrow":
        return current.date() + timedelta(days=1)
    for index, name in enumerate(_WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            ahead = (index - current.weekday()) % 7 or 7
            return current.date() + timedelta(days=ahead)
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


def _clock(text: str) -> time | None:
    match = _CLOCK.match(text.strip())
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
