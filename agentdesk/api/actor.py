"""Who acts: an agent with a role and teams.

Every request the desk takes is made by an ``Actor``. Embedded, it is the one
configured agent with every right (``Actor.embedded``); on a hub, the agent
the console's token names.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.AGENT: 0, Role.LEAD: 1, Role.ADMIN: 2}

#: Who the desk itself acts as (snooze wake-ups, outbox outcomes).
SYSTEM = "system"


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An agent as the desk sees them in a request."""

    agent: str
    role: Role = Role.AGENT
    teams: tuple[str, ...] = ()

    @classmethod
    def embedded(cls, agent: str) -> Actor:
        """The one agent of an embedded desk: every right."""
        return cls(agent=agent, role=Role.ADMIN)

    def in_team(self, team: str | None) -> bool:
        return team is None or team in self.teams
