"""Errors of the desk: a stable code for programs, a sentence for the agent.

A client shows ``message``; a program (the console's retry logic, a script,
the hub's client) decides on ``code``, which never changes meaning.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ErrorCode(StrEnum):
    #: The task, customer or channel named does not exist.
    NOT_FOUND = "not_found"
    #: The actor may not do this (role or team).
    FORBIDDEN = "forbidden"
    #: The object changed meanwhile; reading it again and retrying may succeed.
    CONFLICT = "conflict"
    #: The request itself is wrong (an empty reply, a snooze in the past...).
    INVALID = "invalid"
    #: The channel cannot take this (not sending, too long, no identity there).
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    #: Too many requests; wait and retry.
    RATE_LIMITED = "rate_limited"
    #: The desk cannot serve now (shutting down, store unavailable); retry later.
    UNAVAILABLE = "unavailable"
    #: A fault of the desk itself; the sentence says what is known.
    INTERNAL = "internal"


class DeskError(Exception):
    """A request the desk refused: ``code`` for programs, ``message`` for the agent."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = ErrorCode(code)

    def __repr__(self) -> str:
        return f"DeskError({self.message!r}, code={self.code.value!r})"

    def problem(self) -> Problem:
        return Problem(code=self.code, message=self.message)


class Problem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``DeskError`` as it travels."""

    code: ErrorCode
    message: str

    def error(self) -> DeskError:
        return DeskError(self.message, self.code)


def not_found(message: str) -> DeskError:
    return DeskError(message, ErrorCode.NOT_FOUND)


def forbidden(message: str) -> DeskError:
    return DeskError(message, ErrorCode.FORBIDDEN)


def conflict(message: str) -> DeskError:
    return DeskError(message, ErrorCode.CONFLICT)


def channel_unavailable(message: str) -> DeskError:
    return DeskError(message, ErrorCode.CHANNEL_UNAVAILABLE)
