"""Keeping toasts readable when the desk is busy.

Every notice of the update stream may become a toast, but a desk taking
dozens of new tasks a second must not bury the screen: at most ``burst``
toasts show per ``window`` seconds, and what was held back is summed up in one
toast when the window allows it again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class NoticeGate:
    """Decides which notices become toasts now."""

    def __init__(
        self, *, burst: int = 3, window: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.window = window
        self.clock = clock
        self._shown: deque[float] = deque()
        self.held = 0

    def offer(self, notices: list[str]) -> list[str]:
        """The toasts to show now for ``notices`` (maybe with a summary of held ones)."""
        now = self.clock()
        while self._shown and now - self._shown[0] >= self.window:
            self._shown.popleft()
        out: list[str] = []
        if self.held and len(self._shown) < self.burst:
            out.append(f"… and {self.held} more update{'s' if self.held != 1 else ''}")
            self._shown.append(now)
            self.held = 0
        for notice in notices:
            if len(self._shown) < self.burst:
                out.append(notice)
                self._shown.append(now)
            else:
                self.held += 1
        return out
