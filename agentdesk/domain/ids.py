"""Identifiers that sort by creation time.

An id is 26 characters of Crockford base32 over 128 bits: 48 bits of
milliseconds since the epoch, then 80 bits that are random for the first id
of a millisecond and incremented for the following ones, so ids made by one
factory are strictly increasing even within a millisecond. The alphabet is in
ASCII order, so comparing ids as strings compares them as numbers.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# The standard base32 alphabet mapped onto ours, so the C encoder does the work.
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def _b32(data: bytes) -> str:
    return base64.b32encode(data).translate(_FROM_RFC4648).decode()


def _encode_time(ms: int) -> str:
    """10 digits for 48 bits: the top 10 bits by hand, the low 40 bits as 5 whole bytes."""
    return (
        _ALPHABET[(ms >> 45) & 31]
        + _ALPHABET[(ms >> 40) & 31]
        + _b32((ms & 0xFF_FFFF_FFFF).to_bytes(5, "big"))
    )


class IdFactory:
    """Makes time-sortable ids; one factory per writer keeps them monotonic."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last_ms = -1
        self._last_random = 0

    def new(self) -> str:
        ms = int(self._clock() * 1000)
        if ms <= self._last_ms:
            # Same (or an earlier, if the clock stepped back) millisecond: keep order.
            ms = self._last_ms
            self._last_random += 1
        else:
            self._last_random = int.from_bytes(os.urandom(10), "big") >> 1
        self._last_ms = ms
        return _encode_time(ms) + _b32(self._last_random.to_bytes(10, "big"))


def id_time(identifier: str) -> float:
    """The creation time (epoch seconds) encoded in an id."""
    ms = 0
    for char in identifier[:10]:
        ms = ms * 32 + _ALPHABET.index(char)
    return ms / 1000
