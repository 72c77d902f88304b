"""The outbox: replies waiting for their channel to confirm delivery."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, kw_only=True)
class OutboxEntry:
    """One outbound message to deliver. The key makes sending idempotent."""

    key: str
    event_id: str
    task_id: str
    channel: str
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
