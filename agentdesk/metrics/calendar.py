"""Business hours: how much of a span falls inside a desk's opening hours.

SLA clocks and reports count durations "in business hours": the seconds of a
span during which the desk is open by its own wall clock. A calendar is weekly
opening hours in an IANA time zone, less holidays. An instant is open when the
local clock then reads a time inside an open range of an open day, so a day
whose clock skips an hour (spring forward) is an hour shorter where the open
hours cover the change, and a day whose clock repeats an hour is longer.

Pure: no I/O, no clock. Zone offsets come from zoneinfo, read once per zone
and year and kept, so a span costs two edge days plus whole-week arithmetic,
whatever its length; so does its inverse, ``after``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: One day's opening hours: (open, close) in minutes after local midnight,
#: 0 to 1440, sorted, neither overlapping nor touching.
Ranges = tuple[tuple[int, int], ...]
#: Seven days of ranges, Monday first.
WeekHours = tuple[Ranges, ...]

DAY_MINUTES = 1440
ALL_DAY: Ranges = ((0, DAY_MINUTES),)
FULL_WEEK: WeekHours = (ALL_DAY,) * 7

_DAY = 86400
_EPOCH = date(1970, 1, 1).toordinal()


def format_minute(minute: int) -> str:
    """``HH:MM`` for a minute of the day (1440 is ``24:00``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def normalize_day(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """One day's ranges sorted, touching ones joined (09-12 and 12-14 are 09-14).

    Raises ValueError with a sentence naming the faulty range.
    """
    joined: list[tuple[int, int]] = []
    for opens, closes in sorted(ranges):
        shown = f"{format_minute(opens)}-{format_minute(closes)}"
        if not (0 <= opens <= DAY_MINUTES and 0 <= closes <= DAY_MINUTES):
            raise ValueError(f"{opens}-{closes}: minutes of the day go from 0 to {DAY_MINUTES}")
        if closes <= opens:
            raise ValueError(
                f"{shown} closes before it opens (a range past midnight is two: "
                "up to 24:00 on one day, from 00:00 on the next)"
            )
        if joined and opens < joined[-1][1]:
            before = f"{format_minute(joined[-1][0])}-{format_minute(joined[-1][1])}"
            raise ValueError(f"{shown} overlaps {before}")
        if joined and opens == joined[-1][1]:
            joined[-1] = (joined[-1][0], closes)
        else:
            joined.append((opens, closes))
    return tuple(joined)


class _Shift(NamedTuple):
    """A change of the zone's UTC offset."""

    at: int  # the first UTC instant of the new offset
    before: int  # offsets in seconds east of UTC
    after: int


class _Year(NamedTuple):
    """What one zone's offsets are over one year, read once from zoneinfo."""

    first: int  # the ordinal of samples[0]: 31 December of the year before
    samples: tuple[int, ...]  # the offset at 00:00 UTC of each day, first..+days+2
    shifts: dict[int, _Shift]  # sample index i -> the shift between samples i and i+1
    jan1: int  # ordinal of 1 January
    noon: tuple[int, ...]  # the offset at local noon of each day of the year
    odd_days: dict[int, _Shift]  # ordinal -> the shift that happens during that local day


def _offset(zone: ZoneInfo, instant: int) -> int:
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=512)
def _year(zone_key: str, year: int) -> _Year:
    # Sampling at every UTC midnight finds each offset change to within a day;
    # bisection then gives its second. Real zones change at most a few times a
    # year and never twice in a day, which is what this relies on.
    zone = ZoneInfo(zone_key)
    jan1 = date(year, 1, 1).toordinal()
    days = date(year + 1, 1, 1).toordinal() - jan1
    first = jan1 - 1
    instants = [(first + i - _EPOCH) * _DAY for i in range(days + 3)]
    samples = tuple(_offset(zone, t) for t in instants)
    shifts: dict[int, _Shift] = {}
    odd_days: dict[int, _Shift] = {}
    for i in range(len(samples) - 1):
        if samples[i] == samples[i + 1]:
            continue
        low, high = instants[i], instants[i + 1]
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(zone, middle) == samples[i]:
                low = middle
            else:
                high = middle
        shift = _Shift(high, samples[i], samples[i + 1])
        shifts[i] = shift
        # The local days whose instants can reach the change (offsets stay
        # within a day of UTC, so one of three around the sample's day).
        for ordinal in range(first + i - 1, first + i + 2):
            wall = (ordinal - _EPOCH) * _DAY
            reach_from = wall - max(shift.before, shift.after)
            reach_to = wall + _DAY - min(shift.before, shift.after)
            if jan1 <= ordinal < jan1 + days and reach_from <= shift.at <= reach_to:
                odd_days[ordinal] = shift
    noon = tuple(_offset_of_wall(zone, date.fromordinal(jan1 + k)) for k in range(days))
    return _Year(first, samples, shifts, jan1, noon, odd_days)


def _offset_of_wall(zone: ZoneInfo, day: date) -> int:
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a desk is open: weekly hours in a time zone, less holidays.

    ``hours`` has seven entries, Monday first, each a tuple of (open, close)
    minutes after local midnight (``(540, 1080)`` is 09:00-18:00); a day
    without ranges is closed. ``holidays`` are local dates, closed all day.
    The default, open all day every day in UTC, is calendar time (``ALWAYS``).

    A wall time skipped by a forward clock change opens or closes at the
    change; a repeated wall time counts both times the clock shows it.
    """

    timezone: str = "UTC"
    hours: WeekHours = FULL_WEEK
    holidays: frozenset[date] = frozenset()
    _day_total: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _week_total: int = field(init=False, repr=False, compare=False)
    _closed: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _closed_set: frozenset[int] = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if len(self.hours) != 7:
            raise ValueError(f"hours needs 7 days (Monday first), got {len(self.hours)}")
        week = tuple(normalize_day(day) for day in self.hours)
        closed = tuple(sorted({day.toordinal() for day in self.holidays}))
        totals = tuple(sum(close - open_ for open_, close in day) * 60 for day in week)
        # Frozen: the normalized values and what every call reuses are set once here.
        set_ = object.__setattr__
        set_(self, "hours", week)
        set_(self, "holidays", frozenset(self.holidays))
        set_(self, "_day_total", totals)
        set_(self, "_week_total", sum(totals))
        set_(self, "_closed", closed)
        set_(self, "_closed_set", frozenset(closed))
        set_(self, "_always", week == FULL_WEEK and not closed)

    @property
    def always(self) -> bool:
        """Open every instant: business time is calendar time."""
        return self._always

    def seconds(self, start: float, end: float) -> float:
        """The open seconds between two Unix timestamps (0 when ``end <= start``)."""
        if end <= start:
            return 0.0
        if self._always:
            return end - start
        first, last = self._local_day(start), self._local_day(end)
        if first == last:
            return self._clip(first, start, end)
        return (
            self._clip(first, start, end)
            + self._whole_days(first + 1, last - 1)
            + self._clip(last, start, end)
        )

    def after(self, start: float, seconds: float) -> float | None:
        """The Unix time at which ``seconds`` open seconds have passed since ``start``.

        The earliest ``t >= start`` with ``self.seconds(start, t) == seconds``: a
        budget that runs out at a close gives that close, not the next opening.
        ``start`` itself for ``seconds <= 0``; None if the desk opens for less
        than that within ten years (no open hours at all, say).
        """
        if seconds <= 0:
            return start
        if self._always:
            return start + seconds
        if self._week_total == 0:
            return None
        day = self._local_day(start)
        horizon = day + 3653
        found, left = self._spend(day, start, float(seconds))
        day += 1
        while found is None and day <= horizon:
            # Up to the next holiday, clock change or new year every day has its
            # nominal total, so whole weeks go by arithmetic; never the week the
            # budget ends in (``<``), whose last close has to be found by spans.
            stop = min(self._next_odd(day), horizon + 1)
            weeks = min((stop - day) // 7, int(left // self._week_total))
            if weeks and weeks * self._week_total >= left:
                weeks -= 1
            left -= weeks * self._week_total
            day += 7 * weeks
            while day < stop and self._day_total[(day - 1) % 7] < left:
                left -= self._day_total[(day - 1) % 7]
                day += 1
            if day <= horizon:
                found, left = self._spend(day, start, left)
                day += 1
        return found

    def is_open(self, at: float) -> bool:
        """Whether the desk is open at this Unix timestamp (a range's close is not)."""
        if self._always:
            return True
        return any(opens <= at < closes for opens, closes in self._spans(self._local_day(at)))

    def clipped_seconds(self, spans: Iterable[tuple[float, float]]) -> float:
        """The open seconds of several (start, end) spans, which must not overlap."""
        return sum((self.seconds(start, end) for start, end in spans), 0.0)

    def _local_day(self, at: float) -> int:
        """The ordinal of the local date at an instant."""
        utc_day = _EPOCH + int(at // _DAY)
        year = _year(self.timezone, date.fromordinal(utc_day).year)
        index = utc_day - year.first
        shift = year.shifts.get(index)
        if shift is None:
            offset = year.samples[index]
        else:
            offset = shift.before if at < shift.at else shift.after
        return _EPOCH + int((at + offset) // _DAY)

    def _spans(self, ordinal: int) -> list[tuple[int, int]]:
        """The UTC instants a local day is open, as (start, end) pairs."""
        ranges = self.hours[(ordinal - 1) % 7]  # ordinal 1 (0001-01-01) is a Monday
        if not ranges or ordinal in self._closed_set:
            return []
        year = _year(self.timezone, date.fromordinal(ordinal).year)
        wall = (ordinal - _EPOCH) * _DAY  # local midnight, counted as if it were UTC
        shift = year.odd_days.get(ordinal)
        if shift is None:
            offset = year.noon[ordinal - year.jan1]
            return [(wall + o * 60 - offset, wall + c * 60 - offset) for o, c in ranges]
        # The day's clock changes offset: the instants whose local time falls in
        # a range are those read with the old offset before the change and those
        # read with the new one after it (an empty part for a skipped hour, a
        # second pass for a repeated one).
        spans: list[tuple[int, int]] = []
        for opens, closes in ranges:
            low, high = wall + opens * 60, wall + closes * 60
            early = (low - shift.before, min(high - shift.before, shift.at))
            late = (max(low - shift.after, shift.at), high - shift.after)
            spans.extend(part for part in (early, late) if part[0] < part[1])
        return spans

    def _spend(self, ordinal: int, start: float, left: float) -> tuple[float | None, float]:
        """Spend ``left`` open seconds from ``start`` on in one local day.

        The instant they run out, or None and what is still left after the day.
        """
        # Sorted: on a day the clock goes back, a range's second pass can come
        # after the next range's first.
        for a, b in sorted(self._spans(ordinal)):
            from_ = max(float(a), start)
            if b - from_ >= left:
                return from_ + left, 0.0
            left -= max(0.0, b - from_)
        return None, left

    def _next_odd(self, ordinal: int) -> int:
        """The first day from ``ordinal`` on that is a holiday, changes the
        clock or starts a new year (past which this year's offsets say nothing)."""
        held = bisect_left(self._closed, ordinal)
        year = _year(self.timezone, date.fromordinal(ordinal).year)
        candidates = [d for d in year.odd_days if d >= ordinal]
        candidates.append(year.jan1 + len(year.noon))
        if held < len(self._closed):
            candidates.append(self._closed[held])
        return min(candidates)

    def _clip(self, ordinal: int, start: float, end: float) -> float:
        return sum((max(0.0, min(end, b) - max(start, a)) for a, b in self._spans(ordinal)), 0.0)

    def _whole_days(self, first: int, last: int) -> float:
        """The open seconds of the local days ``first..last``, each entirely inside."""
        if last < first:
            return 0.0
        weeks, rest = divmod(last - first + 1, 7)
        total = weeks * self._week_total
        total += sum(self._day_total[(first + k - 1) % 7] for k in range(rest))
        # The nominal totals hold except on holidays and on days the offset changes.
        odd = set(self._closed[bisect_left(self._closed, first) : bisect_right(self._closed, last)])
        for year in range(date.fromordinal(first).year, date.fromordinal(last).year + 1):
            odd.update(d for d in _year(self.timezone, year).odd_days if first <= d <= last)
        for ordinal in odd:
            actual = sum(b - a for a, b in self._spans(ordinal))
            total += actual - self._day_total[(ordinal - 1) % 7]
        return float(total)


#: Calendar time: every instant counts.
ALWAYS = BusinessCalendar()
