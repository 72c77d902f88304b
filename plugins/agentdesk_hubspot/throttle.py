"""Keeping under HubSpot's rate limits: a token bucket per limit.

HubSpot counts requests per account in a rolling window and answers 429 past
it. Each enricher instance paces its own requests so that it never gets
there on its own, and a look-up that would have to wait past its deadline
says so at once instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Throttled(Exception):
    """The next free turn comes after the deadline; ``wait`` is how far off it is."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the next turn is {wait:.1f} s away")
        self.wait = wait


class TokenBucket:
    """At most ``rate`` requests a second, and up to ``burst`` at once after a pause.

    ``take`` hands out turns in the order asked: each caller reserves the next
    token, possibly one not yet refilled, and sleeps until it is due, so
    concurrent look-ups share the rate fairly without a lock.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def delay(self) -> float:
        """Seconds until the next token is free (0 when one is now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def reserve(self, deadline: float) -> float:
        """Take the next token and return how long to wait before using it;
        ``Throttled`` (and nothing taken) when that is past ``deadline``."""
        now = self._refill()
        wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
        if now + wait > deadline:
            raise Throttled(wait)
        self._tokens -= 1
        return wait

    async def take(self, deadline: float) -> None:
        """Wait for a turn, or raise ``Throttled`` when it would come after ``deadline``."""
        wait = self.reserve(deadline)
        if wait > 0:
            await asyncio.sleep(wait)

    def hold(self, seconds: float) -> None:
        """Give no new turn for ``seconds`` (the server asked us to slow down);
        turns already further off stay where they are."""
        self._refill()
        self._tokens = min(self._tokens, 1 - seconds * self.rate)
