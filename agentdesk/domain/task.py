"""Tasks: one customer request being worked on, and the rules of its status."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class IllegalTransition(ValueError):
    """A status change that the task's current status does not allow."""


# Which status may follow which. Reopening a closed task goes through `open`;
# a closed task cannot be snoozed directly.
_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.PENDING, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.CLOSED, Status.PENDING}),
    Status.CLOSED: frozenset({Status.OPEN}),
}


def check_transition(number: int, current: Status, new: Status) -> None:
    """Raise IllegalTransition with a sentence a person can act on."""
    if new in _ALLOWED[current]:
        return
    if new == current:
        raise IllegalTransition(f"task #{number} is already {current}")
    if current == Status.CLOSED and new == Status.PENDING:
        raise IllegalTransition(f"task #{number} is closed: reopen it before setting it pending")
    raise IllegalTransition(f"task #{number} cannot go from {current} to {new}")


class Task(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """One customer request (a conversation or ticket), whatever its channels."""

    id: str
    # Given by the store when the task is first committed (0 until then):
    # numbers are what people quote, so they are short and never reused.
    number: int = 0
    customer_id: str
    customer_name: str = ""
    status: Status = Status.OPEN
    # The channel instance the next reply goes out on (changes on handoff),
    # and its kind ("email", "chat", ...).
    channel: str = ""
    channel_kind: str = ""
    subject: str = ""
    preview: str = ""
    priority: Priority = Priority.NORMAL
    skills: list[str] = []
    tags: list[str] = []
    assignee: str | None = None
    team: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    first_response_at: float | None = None
    closed_at: float | None = None
    pending_until: float | None = None
    # When the customer started waiting for us (their oldest unanswered
    # message); None when the ball is in the customer's court.
    waiting_since: float | None = None
    last_inbound_at: float | None = None
    unread: bool = False
    # How many times the store has written this task. A change is planned
    # against the version it read; the store refuses it if another change
    # came first (``StoreConflict``), so no change silently overwrites another.
    version: int = 0

    @property
    def label(self) -> str:
        return f"#{self.number}"
