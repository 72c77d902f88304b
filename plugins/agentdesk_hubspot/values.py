"""HubSpot's property values as the one-line text the customer pane shows.

HubSpot sends every property as a string or null, but the answer is still
untrusted: a value may be anything JSON holds, and text may carry control
characters. Each becomes one line of plain text, or None when there is
nothing to show.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: Longest value kept: a field is a line of the customer pane.
MAX_CHARS = 200
_LARGEST = Decimal(10) ** 15

# Terminal escape sequences go whole (CSI, and OSC up to its BEL or ST), so no
# payload is left as text; then C0 and C1 controls, bidi overrides and
# isolates, lone surrogates: none belongs in a line an agent reads.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]+")


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` without control characters, whitespace folded, at most ``limit`` long."""
    folded = " ".join(_UNSAFE.sub(" ", _ESCAPES.sub("", text[: limit * 4])).split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def text_of(value: Any) -> str | None:
    """Any JSON value as a line of text; None for null, an empty string, or NaN."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return None if not math.isfinite(value) else format(value, "g")
    if isinstance(value, str):
        return one_line(value) or None
    try:
        dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # a structure nested too deep
        return None
    return one_line(dumped) or None


def prop(record: Any, name: str) -> str | None:
    """A property of a HubSpot record (``{"id", "properties": {...}}``) as text."""
    if not isinstance(record, dict):
        return None
    properties = record.get("properties")
    if not isinstance(properties, dict):
        return None
    return text_of(properties.get(name))


def record_id(record: Any) -> str | None:
    """A record's id: HubSpot's are digits, sent as a string (or, in places, a number)."""
    if not isinstance(record, dict):
        return None
    return object_id(record.get("id"))


def object_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def number_of(text: str | None) -> Decimal | None:
    """The number a property holds ("1500", "1500.50"), or None."""
    if text is None:
        return None
    try:
        number = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    # Beyond a trillion or so it is not money but a hostile value: shown as text.
    return number if number.is_finite() and abs(number) < _LARGEST else None


def amount(number: Decimal) -> str:
    """12500 as "12,500" and 99.5 as "99.50": how the pane shows money."""
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def value_text(text: str | None) -> str | None:
    """A property that may hold an amount: formatted when it is one, else as it is."""
    number = number_of(text)
    return amount(number) if number is not None else text
