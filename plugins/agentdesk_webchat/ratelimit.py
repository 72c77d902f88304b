"""A token bucket: ``burst`` actions at once, then ``per_minute`` on average."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows short bursts and a steady rate; ``take`` says whether one action may pass."""

    def __init__(
        self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(max(1, burst))
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until one more action would pass (0 when one would now)."""
        self._refill()
        if self._tokens >= 1.0:
            return 0.0
        if self._rate <= 0:
            return float("inf")
        return (1.0 - self._tokens) / self._rate

    def full(self) -> bool:
        """Whether the bucket is back to a whole burst (nothing to remember)."""
        self._refill()
        return self._tokens >= self._capacity

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
