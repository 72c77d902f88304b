"""A report's figures as the desk answers ``report``: rows of counts and
timed figures per group, and each agent's time per channel.

``agentdesk.metrics`` computes them (docs/reports.md); ``agentdesk report``
lays them out, from the store or from a hub alike.
"""

from __future__ import annotations

import msgspec


class Timed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One timed metric over a group: how many, and p50/p90 in calendar time
    and in business hours (seconds)."""

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    business_p50: float | None = None
    business_p90: float | None = None


class Row(msgspec.Struct, forbid_unknown_fields=True):
    """One group (a channel kind, an agent, a team, a day): counts and timed
    figures by metric name (``received``, ``first_response``...)."""

    key: str
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    timed: dict[str, Timed] = msgspec.field(default_factory=dict)

    def count(self, metric: str) -> int:
        return self.counts.get(metric, 0)

    def time(self, metric: str) -> Timed:
        return self.timed.get(metric, Timed())

    @property
    def csat(self) -> float | None:
        """Share of CSAT answers that were 4 or 5."""
        answers = self.count("csat")
        return self.count("csat_good") / answers if answers else None

    @property
    def ces_mean(self) -> float | None:
        answers = self.count("ces")
        return self.count("ces_sum") / answers if answers else None

    @property
    def ces_easy(self) -> float | None:
        """Share of CES answers from 5 to 7 (the customer agreed it was easy)."""
        answers = self.count("ces")
        return self.count("ces_good") / answers if answers else None

    @property
    def reopen_rate(self) -> float | None:
        """Reopens per handled task."""
        handled = self.count("handled")
        return self.count("reopen") / handled if handled else None


class AgentTime(msgspec.Struct, forbid_unknown_fields=True):
    """One agent's online seconds, and focus and engaged seconds per channel
    (never to be added up: online is the total)."""

    online: float = 0.0
    engaged: dict[str, float] = msgspec.field(default_factory=dict)
    focus: dict[str, float] = msgspec.field(default_factory=dict)


class ReportData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: What the rows group by: channel, agent, team or day.
    by: str
    since: float
    until: float
    #: The time zone days and dates are read in (the business calendar's).
    zone: str
    rows: list[Row] = msgspec.field(default_factory=list)
    agents: dict[str, AgentTime] = msgspec.field(default_factory=dict)
