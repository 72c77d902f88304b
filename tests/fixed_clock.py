"""The clock tests move by hand (the desk and the console read it)."""

from __future__ import annotations


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
