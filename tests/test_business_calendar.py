"""Business hours: the calendar's seconds, opening and ``after``, and ``[business_hours]``.

Expected values are worked out by hand in the comments. Europe/Paris changes
its clocks on the last Sundays of March and October: 2026-03-29 (02:00 CET ->
03:00 CEST, a 23 h day) and 2026-10-25 (03:00 CEST -> 02:00 CET, 25 h).
"""

from __future__ import annotations

import random
import tomllib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.core.business_hours_config import parse_business_hours
from agentdesk.core.config import ConfigError, _Reader
from agentdesk.metrics import ALWAYS, BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
NINE_SIX = ((9 * 60, 18 * 60),)
LUNCH = ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 18 * 60))
# A week of 9 + 8 + 9 + 9 + 8 = 43 open hours; 2026-12-25 and 2027-01-01 are Fridays.
DESK = BusinessCalendar(
    timezone="Europe/Paris",
    hours=(NINE_SIX, LUNCH, NINE_SIX, NINE_SIX, ((9 * 60, 17 * 60),), (), ()),
    holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)
HOUR = 3600


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> float:
    """The Unix time of a Paris wall time (``fold=1``: the second of a repeated one)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS, fold=fold).timestamp()


def sundays(*ranges: tuple[int, int]) -> BusinessCalendar:
    return BusinessCalendar("Europe/Paris", ((),) * 6 + (tuple(ranges),))


# 2026-06-01 is a Monday (1 January 2026 is a Thursday; 151 days later, Thu + 4).
@pytest.mark.parametrize(
    "start, end, expected",
    [
        # Mon 10:00 -> 11:30, inside 09-18: 1.5 h
        (at(2026, 6, 1, 10), at(2026, 6, 1, 11, 30), 1.5 * HOUR),
        # Tue 12:00 -> 14:00 over the 12:30-13:30 lunch: 30 min + 30 min
        (at(2026, 6, 2, 12), at(2026, 6, 2, 14), 1 * HOUR),
        # Mon 17:00 -> Tue 10:00: Mon 17-18 (1 h) + night 0 + Tue 09-10 (1 h)
        (at(2026, 6, 1, 17), at(2026, 6, 2, 10), 2 * HOUR),
        # Fri 16:00 -> Mon 10:00: Fri 16-17 (closes at 17) + weekend 0 + Mon 09-10
        (at(2026, 6, 5, 16), at(2026, 6, 8, 10), 2 * HOUR),
        # Thu 24 Dec 17:00 -> Mon 28 Dec 10:00: Thu 17-18 + Fri 25 holiday 0 + Mon 09-10
        (at(2026, 12, 24, 17), at(2026, 12, 28, 10), 2 * HOUR),
        # Mon 21 Dec -> Mon 4 Jan: two 43 h weeks less two 8 h Friday holidays = 70 h
        (at(2026, 12, 21), at(2027, 1, 4), 70 * HOUR),
        # Mon 07:00 -> 20:00, starting and ending while closed: the whole 09-18
        (at(2026, 6, 1, 7), at(2026, 6, 1, 20), 9 * HOUR),
        # Sat 10:00 -> Sun 20:00: closed all along
        (at(2026, 6, 6, 10), at(2026, 6, 7, 20), 0),
        # Tue 12:40 -> 13:20: inside the lunch break
        (at(2026, 6, 2, 12, 40), at(2026, 6, 2, 13, 20), 0),
        # Fri 27 Mar 09:00 -> Mon 30 Mar 18:00 over the spring change, hours away
        # from 02:00-03:00: Fri 8 h + Mon 9 h, the lost night hour changes nothing
        (at(2026, 3, 27, 9), at(2026, 3, 30, 18), 17 * HOUR),
        # the same over the autumn change (Fri 23 -> Mon 26 Oct): 8 h + 9 h
        (at(2026, 10, 23, 9), at(2026, 10, 26, 18), 17 * HOUR),
        # all of 2026: 365 days = 52 weeks (Thu..Wed) + Thu 31 Dec;
        # 52 x 43 h + 9 h - Fri 25 Dec 8 h = 2236 + 9 - 8 = 2237 h
        (at(2026, 1, 1), at(2027, 1, 1), 2237 * HOUR),
    ],
)
def test_seconds(start: float, end: float, expected: float) -> None:
    assert DESK.seconds(start, end) == expected


def test_no_time_when_end_is_not_after_start() -> None:
    start, end = at(2026, 6, 1, 10), at(2026, 6, 1, 11)
    assert DESK.seconds(end, start) == 0
    assert DESK.seconds(start, start) == 0
    assert ALWAYS.seconds(end, start) == 0


@pytest.mark.parametrize(
    "calendar, start, end, expected",
    [
        # Sunday open 00:00-24:00, Sat 28 -> Mon 30 Mar: Sunday lasts 23 h
        (sundays((0, 1440)), at(2026, 3, 28), at(2026, 3, 30), 23 * HOUR),
        # Sun 29 Mar 00:00 -> 12:00 by the clock: 12 wall hours, 11 real
        (sundays((0, 1440)), at(2026, 3, 29), at(2026, 3, 29, 12), 11 * HOUR),
        # Sat 24 -> Mon 26 Oct: Sunday lasts 25 h
        (sundays((0, 1440)), at(2026, 10, 24), at(2026, 10, 26), 25 * HOUR),
        # Sun 25 Oct 00:00 -> 12:00 by the clock: 12 wall hours, 13 real
        (sundays((0, 1440)), at(2026, 10, 25), at(2026, 10, 25, 12), 13 * HOUR),
        # 1 Mar -> 1 May 2026 (whole weeks): Sundays 1, 8, 15, 22, 29 Mar, 5, 12,
        # 19, 26 Apr = 8 x 24 h + 23 h (29 Mar) = 215 h
        (sundays((0, 1440)), at(2026, 3, 1), at(2026, 5, 1), 215 * HOUR),
        # 1 Oct -> 1 Nov 2026: Sundays 4, 11, 18, 25 Oct = 3 x 24 h + 25 h = 97 h
        (sundays((0, 1440)), at(2026, 10, 1), at(2026, 11, 1), 97 * HOUR),
        # Sun 29 Mar open 01:00-02:30: at 02:00 the clock jumps to 03:00, past
        # the close, so 01:00-02:00 = 1 h
        (sundays((60, 150)), at(2026, 3, 28, 12), at(2026, 3, 30, 12), 1 * HOUR),
        # open 02:30-04:00 that day: 02:30 never shows, it opens at the jump
        # (03:00) until 04:00 = 1 h
        (sundays((150, 240)), at(2026, 3, 28, 12), at(2026, 3, 30, 12), 1 * HOUR),
        # Sun 25 Oct open 02:00-03:00: the clock shows that hour twice = 2 h
        (sundays((120, 180)), at(2026, 10, 24, 12), at(2026, 10, 26, 12), 2 * HOUR),
        # open 02:30-05:00: 02:30-03:00 twice (30 + 30 min) + 03:00-05:00 (2 h) = 3 h
        (sundays((150, 300)), at(2026, 10, 24, 12), at(2026, 10, 26, 12), 3 * HOUR),
    ],
)
def test_seconds_across_clock_changes(
    calendar: BusinessCalendar, start: float, end: float, expected: float
) -> None:
    assert calendar.seconds(start, end) == expected


def test_is_open() -> None:
    assert DESK.is_open(at(2026, 6, 2, 9))  # Tue: opening is open
    assert DESK.is_open(at(2026, 6, 2, 12, 29))
    assert not DESK.is_open(at(2026, 6, 2, 12, 30))  # closing is closed
    assert not DESK.is_open(at(2026, 6, 2, 13))  # lunch
    assert DESK.is_open(at(2026, 6, 2, 13, 30))
    assert not DESK.is_open(at(2026, 6, 2, 18))
    assert not DESK.is_open(at(2026, 6, 2, 3))  # night
    assert not DESK.is_open(at(2026, 6, 6, 11))  # Saturday
    assert not DESK.is_open(at(2026, 12, 25, 10))  # holiday (a Friday)
    assert DESK.is_open(at(2026, 12, 24, 10))
    # 25 Oct 02:15 happens twice: open twice under 02:00-03:00; under 02:30-05:00
    # neither (both passes are before 02:30)
    for fold in (0, 1):
        assert sundays((120, 180)).is_open(at(2026, 10, 25, 2, 15, fold=fold))
        assert not sundays((150, 300)).is_open(at(2026, 10, 25, 2, 15, fold=fold))


def test_always_is_calendar_time() -> None:
    assert ALWAYS.always and BusinessCalendar() == ALWAYS
    assert ALWAYS.seconds(1000.0, 1250.5) == 250.5
    assert ALWAYS.is_open(0.0)
    # Open all day every day in Paris is calendar time too: Sunday 29 Mar's 23 h
    # are the 23 h that pass
    paris = BusinessCalendar("Europe/Paris")
    assert paris.always
    assert paris.seconds(at(2026, 3, 28), at(2026, 3, 30)) == 47 * HOUR
    # ... but for its holidays: 24 -> 27 Dec less 25 Dec = 48 h
    xmas = BusinessCalendar("Europe/Paris", holidays=frozenset({date(2026, 12, 25)}))
    assert not xmas.always
    assert xmas.seconds(at(2026, 12, 24), at(2026, 12, 27)) == 48 * HOUR


def test_clipped_seconds_adds_the_spans() -> None:
    spans = [(at(2026, 6, 1, 10), at(2026, 6, 1, 11)), (at(2026, 6, 1, 17), at(2026, 6, 2, 10))]
    # Mon 10-11 (1 h) + Mon 17 -> Tue 10 (1 h + 1 h)
    assert DESK.clipped_seconds(spans) == 3 * HOUR
    assert DESK.clipped_seconds([]) == 0


def test_calendar_checks_its_hours() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        BusinessCalendar("Mars/Olympus")
    with pytest.raises(ValueError, match="7 days"):
        BusinessCalendar(hours=(NINE_SIX,) * 6)
    with pytest.raises(ValueError, match="12:00-18:00 overlaps 09:00-13:00"):
        BusinessCalendar(hours=(((540, 780), (720, 1080)),) + ((),) * 6)
    # touching ranges are one: 09-12 and 12-18 is 09-18
    joined = BusinessCalendar(hours=(((720, 1080), (540, 720)),) + ((),) * 6)
    assert joined.hours[0] == NINE_SIX


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
def test_seconds_agree_with_counting_minutes(zone: str) -> None:
    # Around each zone's 2026 changes (Lord Howe moves by 30 minutes), ranges on
    # and off the changing hours: every minute whose local reading is open counts.
    tz = ZoneInfo(zone)
    hours = ((60, 150), (160, 200), (600, 1440))
    calendar = BusinessCalendar(zone, (hours, (), *([hours] * 5)), frozenset({date(2026, 3, 9)}))
    changes = {
        "Europe/Paris": [(2026, 3, 27), (2026, 10, 23)],
        "America/New_York": [(2026, 3, 6), (2026, 10, 30)],
        "Australia/Lord_Howe": [(2026, 4, 3), (2026, 10, 2)],
    }[zone]
    rng = random.Random(zone)
    for _ in range(12):
        base = datetime(*rng.choice(changes), tzinfo=tz).timestamp()
        start = base + rng.randrange(3 * 1440) * 60
        end = start + rng.randrange(2 * 1440) * 60
        counted = 0
        for minute in range(int(start), int(end), 60):
            local = datetime.fromtimestamp(minute, tz)
            of_day = local.hour * 60 + local.minute
            if local.date() not in calendar.holidays and any(
                a <= of_day < b for a, b in calendar.hours[local.weekday()]
            ):
                counted += 60
        assert calendar.seconds(start, end) == counted


# --- [business_hours] --------------------------------------------------------

EXAMPLE = """
[business_hours]
timezone = "Europe/Paris"
mon = "09:00-18:00"
tue = "09:00-12:30, 13:30-18:00"
wed = "09:00-18:00"
thu = "09:00-18:00"
fri = "09:00-17:00"
holidays = ["2026-12-25", "2027-01-01"]
"""


def parse(table: dict[str, object]) -> BusinessCalendar:
    return parse_business_hours(_Reader("desk.toml", {}), table)


def test_config_example() -> None:
    assert parse(tomllib.loads(EXAMPLE)["business_hours"]) == DESK


def test_config_defaults() -> None:
    assert parse({}) is ALWAYS
    # a table without days counts every hour of its zone, but the holidays'
    only_holidays = parse({"timezone": "Europe/Paris", "holidays": [date(2026, 12, 25)]})
    assert only_holidays.hours == BusinessCalendar().hours
    assert only_holidays.holidays == {date(2026, 12, 25)}
    assert only_holidays.timezone == "Europe/Paris"
    # a day may say it is closed; "24:00" closes at midnight
    calendar = parse({"mon": "00:00-24:00", "sat": "closed"})
    assert calendar.timezone == "UTC"
    assert calendar.hours == (((0, 1440),),) + ((),) * 6


@pytest.mark.parametrize(
    "table, key, words",
    [
        ({"timezone": "Europe/Pariss"}, "business_hours.timezone", "unknown time zone"),
        ({"timezone": 1}, "business_hours.timezone", "expected text"),
        ({"mon": "25:00-26:00"}, "business_hours.mon", "25:00 is not a time of day"),
        ({"tue": "09:60-18:00"}, "business_hours.tue", "09:60 is not a time of day"),
        ({"wed": "9-18"}, "business_hours.wed", "expected opening hours like"),
        ({"thu": "09:00-18:00,"}, "business_hours.thu", "got ''"),
        ({"fri": 9}, "business_hours.fri", "expected text"),
        ({"sat": "18:00-09:00"}, "business_hours.sat", "18:00-09:00 closes before it opens"),
        ({"sun": "09:00-09:00"}, "business_hours.sun", "closes before it opens"),
        (
            {"mon": "09:00-13:00, 12:00-18:00"},
            "business_hours.mon",
            "12:00-18:00 overlaps 09:00-13:00",
        ),
        ({"mon": "closed", "tue": ""}, "business_hours", "every day is closed"),
        ({"holidays": ["2026-13-01"]}, "business_hours.holidays[0]", "is not a date"),
        ({"holidays": ["2026-12-25", "25/12/2026"]}, "business_hours.holidays[1]", "not a date"),
        ({"holidays": ["20261225"]}, "business_hours.holidays[0]", "is not a date"),
        (
            {"holidays": [datetime(2026, 12, 25, 9)]},
            "business_hours.holidays[0]",
            "is not a date",
        ),
        ({"holidays": "2026-12-25"}, "business_hours.holidays", "expected a list of dates"),
        ({"saturday": "09:00-12:00"}, "business_hours.saturday", "unknown setting"),
    ],
)
def test_config_errors_name_the_file_and_key(
    table: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(table)
    assert str(caught.value).startswith(f"desk.toml: {key}: ")
    assert words in str(caught.value)


# --- after: the inverse of seconds -------------------------------------------


@pytest.mark.parametrize(
    "start, budget, expected",
    [
        # Mon 1 Jun 10:00 + 1.5 h inside 09-18: 11:30
        (at(2026, 6, 1, 10), 1.5 * HOUR, at(2026, 6, 1, 11, 30)),
        # Tue 12:00 + 1 h over lunch: 12:00-12:30, then 13:30 + 30 min = 14:00
        (at(2026, 6, 2, 12), 1 * HOUR, at(2026, 6, 2, 14)),
        # Mon 17:00 + 2 h over the night: Mon 17-18, Tue 09-10
        (at(2026, 6, 1, 17), 2 * HOUR, at(2026, 6, 2, 10)),
        # Fri 5 Jun 16:00 + 2 h over the weekend: Fri 16-17, Mon 8 Jun 09-10
        (at(2026, 6, 5, 16), 2 * HOUR, at(2026, 6, 8, 10)),
        # Thu 24 Dec 17:00 + 2 h: Thu 17-18, Fri 25 holiday, Mon 28 Dec 09-10
        (at(2026, 12, 24, 17), 2 * HOUR, at(2026, 12, 28, 10)),
        # Mon 21 Dec 00:00 + 70 h: the two weeks to Mon 4 Jan hold exactly 70 h
        # and Fri 1 Jan is a holiday, so the last close: Thu 31 Dec 18:00
        (at(2026, 12, 21), 70 * HOUR, at(2026, 12, 31, 18)),
        # budgets ending exactly at a close give the close, not the next opening:
        # Mon 10:00 + 8 h = 18:00; Tue 09:00 + 3.5 h = 12:30 (lunch)
        (at(2026, 6, 1, 10), 8 * HOUR, at(2026, 6, 1, 18)),
        (at(2026, 6, 2, 9), 3.5 * HOUR, at(2026, 6, 2, 12, 30)),
        # whole weeks: Mon 1 Jun 00:00 + 2 x 43 h ends at the second Friday's
        # close (Fri 12 Jun 17:00); one hour more is Mon 15 Jun 10:00
        (at(2026, 6, 1), 86 * HOUR, at(2026, 6, 12, 17)),
        (at(2026, 6, 1), 87 * HOUR, at(2026, 6, 15, 10)),
        # Mon 2 Mar + 5 x 43 h over the spring change (a closed Sunday): Fri 3 Apr 17:00
        (at(2026, 3, 2), 5 * 43 * HOUR, at(2026, 4, 3, 17)),
        # over the clock changes, hours away from 02:00-03:00: Fri 16-17, Mon 09-10
        (at(2026, 3, 27, 16), 2 * HOUR, at(2026, 3, 30, 10)),
        (at(2026, 10, 23, 16), 2 * HOUR, at(2026, 10, 26, 10)),
        # starting while closed: Mon 07:00 (opens 09:00), Mon 20:00 (next is
        # Tue 09:00), Sun 7 Jun (next is Mon 8 Jun 09:00), Tue 12:40 (lunch)
        (at(2026, 6, 1, 7), 1 * HOUR, at(2026, 6, 1, 10)),
        (at(2026, 6, 1, 20), 1 * HOUR, at(2026, 6, 2, 10)),
        (at(2026, 6, 7, 12), 1 * HOUR, at(2026, 6, 8, 10)),
        (at(2026, 6, 2, 12, 40), 0.5 * HOUR, at(2026, 6, 2, 14)),
        # closed at the start and a close budget: Sat + 9 h = Mon 8 Jun 18:00
        (at(2026, 6, 6, 10), 9 * HOUR, at(2026, 6, 8, 18)),
    ],
)
def test_after(start: float, budget: float, expected: float) -> None:
    assert DESK.after(start, budget) == expected
    assert DESK.seconds(start, expected) == budget


@pytest.mark.parametrize(
    "calendar, start, budget, expected",
    [
        # Sunday 29 Mar open all day lasts 23 h: Sat + 23 h is its close, Mon 00:00
        (sundays((0, 1440)), at(2026, 3, 28), 23 * HOUR, at(2026, 3, 30)),
        # Sun 29 Mar 00:00 + 12 h: 02:00 jumps to 03:00, so the clock shows 13:00
        (sundays((0, 1440)), at(2026, 3, 29), 12 * HOUR, at(2026, 3, 29, 13)),
        # Sun 25 Oct 00:00 + 12 h: 02:00-03:00 shows twice, so the clock shows 11:00
        (sundays((0, 1440)), at(2026, 10, 25), 12 * HOUR, at(2026, 10, 25, 11)),
        # Sunday 25 Oct lasts 25 h: Sat + 25 h is Mon 00:00
        (sundays((0, 1440)), at(2026, 10, 24), 25 * HOUR, at(2026, 10, 26)),
        # open 01:00-02:30 on 29 Mar: the close is cut to the jump, 02:00 CET,
        # the same instant as 03:00 CEST
        (sundays((60, 150)), at(2026, 3, 28, 12), 1 * HOUR, at(2026, 3, 29, 3)),
        # open 02:30-04:00: opens at the jump (03:00); + 30 min = 03:30
        (sundays((150, 240)), at(2026, 3, 28, 12), 0.5 * HOUR, at(2026, 3, 29, 3, 30)),
        # open 02:00-03:00 on 25 Oct, twice: + 90 min = the second 02:30
        (sundays((120, 180)), at(2026, 10, 24, 12), 1.5 * HOUR, at(2026, 10, 25, 2, 30, fold=1)),
        # open 02:30-05:00: 02:30-03:00 CEST (30 min), then 02:30 CET + 15 min
        (sundays((150, 300)), at(2026, 10, 24, 12), 0.75 * HOUR, at(2026, 10, 25, 2, 45, fold=1)),
        # open 02:00-02:30 and 02:40-03:00, each twice: in time order the first
        # passes of both come before the second passes, so 30 + 15 min ends at
        # 02:55 CEST, and 30 + 20 min at the change itself (= 02:00 CET)
        (
            sundays((120, 150), (160, 180)),
            at(2026, 10, 24, 12),
            0.75 * HOUR,
            at(2026, 10, 25, 2, 55),
        ),
        (
            sundays((120, 150), (160, 180)),
            at(2026, 10, 24, 12),
            50 * 60,
            at(2026, 10, 25, 2, fold=1),
        ),
    ],
)
def test_after_across_clock_changes(
    calendar: BusinessCalendar, start: float, budget: float, expected: float
) -> None:
    assert calendar.after(start, budget) == expected
    assert calendar.seconds(start, expected) == budget


def test_after_zero_budget_and_always() -> None:
    start = at(2026, 6, 6, 10)  # a Saturday, closed
    assert DESK.after(start, 0) == start
    assert DESK.after(start, -5) == start
    assert ALWAYS.after(1000.0, 250.5) == 1250.5
    # open all day in Paris is calendar time, 23 h Sunday or not
    assert BusinessCalendar("Europe/Paris").after(at(2026, 3, 28), 47 * HOUR) == at(2026, 3, 30)


def test_after_gives_none_without_open_time() -> None:
    never = BusinessCalendar("Europe/Paris", ((),) * 7)
    assert never.after(at(2026, 6, 1), 1) is None
    assert never.after(at(2026, 6, 1), 0) == at(2026, 6, 1)
    # open on Mondays only, every Monday a holiday for eleven years: past the
    # ten-year horizon
    mondays = frozenset(date.fromordinal(date(2026, 6, 1).toordinal() + 7 * k) for k in range(575))
    closed = BusinessCalendar("Europe/Paris", (NINE_SIX,) + ((),) * 6, mondays)
    assert closed.after(at(2026, 6, 1), 1) is None
    # ... and the Monday after the last holiday is found within it
    short = BusinessCalendar(
        "Europe/Paris", (NINE_SIX,) + ((),) * 6, frozenset(sorted(mondays)[:52])
    )
    assert short.after(at(2026, 6, 1), HOUR) == at(2027, 5, 31, 10)


EDGES = [
    DESK,
    sundays((0, 1440)),
    sundays((120, 150), (160, 180)),
    sundays((60, 150), (160, 300)),
    BusinessCalendar(
        "America/New_York",
        (LUNCH, (), *([((60, 150), (160, 200), (600, 1440))] * 5)),
        frozenset({date(2026, 3, 9), date(2026, 11, 2)}),
    ),
    BusinessCalendar("Australia/Lord_Howe", (((90, 180),),) * 7),
]


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(EDGES),
    start=st.floats(min_value=at(2025, 12, 1), max_value=at(2027, 2, 1)),
    budget=st.one_of(
        st.floats(min_value=0, max_value=5 * 86400),
        st.integers(min_value=0, max_value=5 * 24 * 60).map(lambda m: m * 60.0),
    ),
)
def test_after_inverts_seconds(calendar: BusinessCalendar, start: float, budget: float) -> None:
    # The budget is spent exactly, and not one second sooner.
    end = calendar.after(start, budget)
    assert end is not None and end >= start
    assert abs(calendar.seconds(start, end) - budget) <= 1e-6
    if budget > 0 and end > start:
        assert calendar.seconds(start, end - 1) < budget
