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


class KeyedBuckets:
    """One ``TokenBucket`` per key (a client address), forgetting full ones when many."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_minute = per_minute
        self._burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full()
            bucket = TokenBucket(self._per_minute, self._burst, clock=self._clock)
            self._buckets[key] = bucket
        return bucket.take()

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self) -> None:
        for key in [k for k, bucket in self._buckets.items() if bucket.full()]:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            # Every address is busy: start over rather than grow without bound.
            self._buckets.clear()
