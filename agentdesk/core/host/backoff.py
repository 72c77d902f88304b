"""Capped exponential backoff with jitter, for channel restarts and outbox retries."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delay before attempt ``n`` (0-based): ``base * 2**n`` capped at ``cap``, then
    spread by +/- ``jitter`` (a fraction) so many failing channels do not retry in step."""

    base: float = 1.0
    cap: float = 60.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * (2 ** min(attempt, 32)))
        spread = raw * self.jitter
        return max(0.0, min(self.cap, raw + self.rng.uniform(-spread, spread)))
