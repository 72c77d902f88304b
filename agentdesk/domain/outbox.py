"""The outbox: replies waiting for their channel to confirm delivery."""

from __future__ import annotations

import msgspec


class OutboxEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """One outbound message to deliver. The key makes sending idempotent."""

    key: str
    event_id: str
    task_id: str
    channel: str
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
