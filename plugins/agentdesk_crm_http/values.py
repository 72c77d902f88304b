"""The back office's JSON values as the one-line text the customer pane shows.

The answer is untrusted: a field may be a number, a boolean, null, a list or
an object, and text may carry control characters. Each becomes one line of
plain text, or None when there is nothing to show.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Longest value kept: a field is a line of the customer pane.
MAX_CHARS = 200

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
    """Any JSON value as a line of text; None for null, an empty string, or NaN.

    A list or an object is shown as compact JSON: the operator sees what the
    path leads to and can point it further in.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # A number of thousands of digits is no field value, and costly to print.
        return str(value) if abs(value) < 10**30 else None
    if isinstance(value, float):
        return format(value, "g") if math.isfinite(value) else None
    if isinstance(value, str):
        return one_line(value) or None
    try:
        dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return None
    return one_line(dumped) or None
