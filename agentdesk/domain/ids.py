"""Identifiers that sort by creation time.

An id is 26 characters of Crockford base32 over 128 bits: 48 bits of
milliseconds since the epoch, then 80 bits that are random for the first id
of a millisecond and incremented for the following ones, so ids made by one
factory are strictly increasing even within a millisecond. The alphabet is in
ASCII order, so comparing ids as strings compares them as numbers.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two digits (10 bits) at a time: half the Python-level steps of one at a time.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)


def _encode(value: int, digits: int) -> str:
    pairs = []
    for _ in range(digits // 2):
        pairs.append(_PAIRS[value & 1023])
        value >>= 10
    pairs.reverse()
    return "".join(pairs)


def _random_digits(value: int) -> str:
    """The 16 digits of an 80-bit value (``_encode(value, 16)``, unrolled: ids
    are made for every stored object)."""
    p = _PAIRS
    return (
        p[value >> 70 & 1023]
        + p[value >> 60 & 1023]
        + p[value >> 50 & 1023]
        + p[value >> 40 & 1023]
        + p[value >> 30 & 1023]
        + p[value >> 20 & 1023]
        + p[value >> 10 & 1023]
        + p[value & 1023]
    )


class IdFactory:
    """Makes time-sortable ids; one factory per writer keeps them monotonic."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # Seeded from the system's entropy once: a new millisecond then costs
        # no system call (ids are made for every stored object).
        self._random = random.Random(os.urandom(32))
        self._last_ms = -1
        self._last_random = 0
        self._prefix = ""

    def new(self) -> str:
        ms = int(self._clock() * 1000)
        if ms <= self._last_ms:
            # Same (or an earlier, if the clock stepped back) millisecond: keep order.
            ms = self._last_ms
            self._last_random += 1
        else:
            self._last_random = self._random.getrandbits(79)
            self._last_ms = ms
            self._prefix = _encode(ms, 10)
        return self._prefix + _random_digits(self._last_random)


def id_time(identifier: str) -> float:
    """The creation time (epoch seconds) encoded in an id."""
    ms = 0
    for char in identifier[:10]:
        ms = ms * 32 + _ALPHABET.index(char)
    return ms / 1000
