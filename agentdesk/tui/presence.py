"""The agent's own presence, and who of the team is there.

The agent says they are away (a key, the palette) or back; a console left
untouched for ``idle_after`` seconds says away by itself and back at the next
key. Offline is the hub's to say, when the last console of an agent goes.
The header shows the team in a few characters ("team 3/5 online"), from
the agents the desk lists and every change its updates carry.
"""

from __future__ import annotations

from agentdesk.api.agents import AgentInfo, Presence

#: Ten minutes without a key: away.
IDLE_AWAY_SECONDS = 600.0


class PresenceKeeper:
    """What this console says of its agent, and what it knows of the others."""

    def __init__(self, me: str = "", *, idle_after: float = IDLE_AWAY_SECONDS) -> None:
        self.me = me
        self.idle_after = idle_after
        self.mine = Presence.ONLINE
        #: Away because idle, not by choice: the next key brings the agent back.
        self.idle = False
        self.last_key = 0.0
        self.team: dict[str, AgentInfo] = {}

    # --- this agent ------------------------------------------------------------------

    def key_pressed(self, now: float) -> Presence | None:
        """A key: the presence to say now, if it changes (back from idle)."""
        self.last_key = now
        if self.idle:
            self.idle = False
            self.mine = Presence.ONLINE
            return self.mine
        return None

    def tick(self, now: float) -> Presence | None:
        """Now and then: away, once the console has been idle long enough."""
        if self.idle_after <= 0 or self.mine != Presence.ONLINE or not self.last_key:
            return None
        if now - self.last_key >= self.idle_after:
            self.idle = True
            self.mine = Presence.AWAY
            return self.mine
        return None

    def toggle(self) -> Presence:
        """The agent's choice: away, or back."""
        self.idle = False
        self.mine = Presence.AWAY if self.mine == Presence.ONLINE else Presence.ONLINE
        return self.mine

    # --- the team -------------------------------------------------------------------

    def agents_changed(self, agents: list[AgentInfo]) -> None:
        for agent in agents:
            if agent.revoked:
                self.team.pop(agent.name, None)
            else:
                self.team[agent.name] = agent
        mine = self.team.get(self.me)
        if mine is not None and mine.presence != Presence.OFFLINE:
            self.mine = mine.presence  # another console of the agent may have said it

    def summary(self, *, compact: bool = False) -> str:
        """``you: away · team 3/5 online, 1 away``: the agent's own word when away,
        and the team when there is one (a desk of one has nobody else to show).
        ``compact``: ``away · 3/5 online``, for a narrow terminal."""
        parts = [("away" if compact else "you: away")] if self.mine == Presence.AWAY else []
        if len(self.team) >= 2:
            online = sum(1 for a in self.team.values() if a.presence == Presence.ONLINE)
            away = sum(1 for a in self.team.values() if a.presence == Presence.AWAY)
            team = f"{online}/{len(self.team)} online"
            if not compact:
                team = f"team {team}" + (f", {away} away" if away else "")
            parts.append(team)
        return " · ".join(parts)

    def roster(self) -> str:
        """Everyone and where they are, for the summary's tooltip."""
        lines = []
        for agent in sorted(self.team.values(), key=lambda a: (a.presence != "online", a.name)):
            lines.append(f"{agent.label} ({agent.role}): {agent.presence}")
        return "\n".join(lines)
