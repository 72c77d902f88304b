"""Customers who texted STOP, kept in the channel's durable state.

Carriers require that a number that texted STOP gets nothing more until it
texts START. Twilio enforces it too (error 21610), but the channel refuses
such a send itself, so the agent learns at once why the reply failed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from agentdesk.plugin import PluginState

#: Whole texts (trimmed, any case) that opt a number out, or back in.
STOP_WORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})

_PREFIX = "optout:"
_NON_DIGITS = re.compile(r"[^0-9]")


def keyword(body: str) -> str | None:
    """``"stop"`` or ``"start"`` when the whole text is such a keyword, else None."""
    word = body.strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def number_key(number: str) -> str:
    """The form numbers are compared in: ``+`` and digits, as the desk compares phones."""
    number = number.strip()
    digits = _NON_DIGITS.sub("", number)
    return ("+" + digits) if number.startswith("+") else digits


class OptOutBook:
    """Which numbers opted out. Changes show at once; ``save`` makes one durable."""

    def __init__(self, state: PluginState, clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._clock = clock
        # Changes not yet written, so a send right after a STOP is refused
        # even before the state write (which may wait for the desk) is done.
        self._pending: dict[str, dict[str, object] | None] = {}
        self._lock = asyncio.Lock()

    def opted_out(self, number: str) -> bool:
        key = _PREFIX + number_key(number)
        if key in self._pending:
            return self._pending[key] is not None
        return self._state.get(key) is not None

    def mark(self, number: str, *, stop: bool, word: str) -> None:
        """Record at once that ``number`` texted ``word``, a STOP (or a START) word."""
        key = _PREFIX + number_key(number)
        self._pending[key] = {"at": self._clock(), "word": word.strip()[:40]} if stop else None

    def opt_out(self, number: str, reason: str) -> None:
        """Record that Twilio reports ``number`` as opted out (error 21610)."""
        self._pending[_PREFIX + number_key(number)] = {"at": self._clock(), "word": reason}

    async def save(self, number: str) -> None:
        """Write the number's current standing to the durable state."""
        key = _PREFIX + number_key(number)
        async with self._lock:
            if key not in self._pending:
                return
            value = self._pending[key]
            if value is None:
                await self._state.delete(key)
            else:
                await self._state.set(key, value)
            # A newer change made while writing stays pending for its own save.
            if self._pending.get(key, value) is value:
                self._pending.pop(key, None)
