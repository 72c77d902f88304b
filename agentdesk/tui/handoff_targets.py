"""Where a task can be handed off to, and checking a new identity typed by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentdesk.core.client import ChannelStatus
from agentdesk.domain import Customer, IdentityKind, Task, normalize_identity

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
_SOCIAL = re.compile(r"^@?[\w.]{1,64}$")


@dataclass(frozen=True, slots=True)
class HandoffTarget:
    """One channel, and the identity to reach the customer there (None: type one)."""

    channel: str
    kind: str
    identity_kind: str
    identity: str | None


def handoff_targets(
    task: Task, customer: Customer | None, channels: list[ChannelStatus]
) -> list[HandoffTarget]:
    """Channels the customer can be reached on, with their identity; then one
    "new identity" target per channel that can send."""
    known: list[HandoffTarget] = []
    new: list[HandoffTarget] = []
    for channel in channels:
        caps = channel.capabilities
        if not caps.outbound or channel.name == task.channel:
            continue
        for identity in customer.identities if customer else []:
            if identity.kind == caps.identity_kind:
                known.append(
                    HandoffTarget(channel.name, caps.kind, caps.identity_kind, identity.value)
                )
        new.append(HandoffTarget(channel.name, caps.kind, caps.identity_kind, None))
    return known + new


def check_identity(kind: str, value: str) -> str | None:
    """An error sentence for an identity that cannot be right, else None."""
    value = value.strip()
    if not value:
        return "Type the address to use."
    if kind == IdentityKind.EMAIL:
        return None if _EMAIL.match(value) else f"{value!r} is not an email address."
    if kind == IdentityKind.PHONE:
        digits = normalize_identity(kind, value).lstrip("+")
        if _PHONE.match(value) and 6 <= len(digits) <= 15:
            return None
        return f"{value!r} is not a phone number (digits, optionally starting with +)."
    if kind == IdentityKind.SOCIAL:
        return None if _SOCIAL.match(value) else f"{value!r} is not a handle."
    return None if len(value) <= 200 else "That identity is too long."
