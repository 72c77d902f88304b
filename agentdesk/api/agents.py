"""Agents as the desk knows them: who may connect to a hub, with what role.

Agents are data in the store. A token is shown once, when the agent is added
or the token rotated; the store keeps only its hash.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from .actor import Actor, Role


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AgentInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An agent, without anything secret."""

    name: str
    role: Role = Role.AGENT
    display_name: str = ""
    teams: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    #: Tasks at once per channel kind (``chat``: 3...); routing reads it.
    capacity: dict[str, int] = msgspec.field(default_factory=dict)
    #: Tasks at once over every kind; None: only the kinds' limits.
    total_limit: int | None = None
    revoked: bool = False
    created_at: float = 0.0
    presence: Presence = Presence.OFFLINE

    @property
    def actor(self) -> Actor:
        return Actor(agent=self.name, role=self.role, teams=self.teams)

    @property
    def label(self) -> str:
        return self.display_name or self.name


class AgentToken(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A newly made token: shown once, never stored."""

    agent: AgentInfo
    token: str
