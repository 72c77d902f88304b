"""Where a field is in the back office's JSON answer: a dotted path.

``account.name`` reads a key of a key; ``orders.0.id`` reads the first
item of a list; ``orders#`` is how many items a list (or keys an object) has.
A path that leads nowhere gives nothing, never an error: the answer is the
back office's to shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

COUNT = "#"
_SEGMENT = re.compile(r"[^.#\s]+")


@dataclass(frozen=True, slots=True)
class FieldPath:
    segments: tuple[str, ...]
    #: ``orders#``: the count of what the path leads to.
    count: bool = False

    def resolve(self, answer: Any) -> Any:
        """What the path leads to in ``answer``; None when it leads nowhere."""
        here = answer
        for segment in self.segments:
            if isinstance(here, dict):
                here = here.get(segment)
            elif isinstance(here, list) and segment.isascii() and segment.isdigit():
                index = int(segment)
                here = here[index] if index < len(here) else None
            else:
                return None
        if self.count:
            return len(here) if isinstance(here, (list, dict)) else None
        return here


def path_problem(text: str) -> str | None:
    """What is wrong with a path, for the ``fields.<name>`` message."""
    body = text[:-1] if text.endswith(COUNT) else text
    segments = body.split(".")
    if not body or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return (
            "expected a dotted path into the answer like account.name, orders.0.id "
            f"or orders# (a count), got {text!r}"
        )
    return None


def parse_path(text: str) -> FieldPath:
    """The path (already checked with ``path_problem``)."""
    count = text.endswith(COUNT)
    body = text[:-1] if count else text
    return FieldPath(tuple(body.split(".")), count)
