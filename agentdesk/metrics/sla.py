"""Service-level targets, and when a task's nearest one turns amber and red.

A target gives, for a channel kind and a priority, the business time allowed
for the first response, for each next reply and for the resolution. The
clocks are the fold's (``TaskFold.running_clocks``): they stop while a task
is pending and count business hours only, so the moment a target runs out
is found by walking the calendar forward from now.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.api.messages import SlaDue

from .calendar import BusinessCalendar
from .measures import Metric
from .task_fold import TaskFold

ANY = "*"
NEVER = 10 * 365 * 86400.0
#: The clock of each metric, as targets and the wire name them.
CLOCK_NAMES = {
    Metric.FIRST_RESPONSE: "first_response",
    Metric.REPLY: "next_reply",
    Metric.FULL_RESOLUTION: "resolution",
}


@dataclass(frozen=True, slots=True)
class SlaTarget:
    channel: str = ANY
    priority: str = ANY
    #: Business seconds allowed; None: no target for that clock.
    first_response: float | None = None
    next_reply: float | None = None
    resolution: float | None = None

    def allowed(self, metric: Metric) -> float | None:
        return getattr(self, CLOCK_NAMES[metric])

    def matches(self, channel: str, priority: str) -> bool:
        return self.channel in (ANY, channel) and self.priority in (ANY, priority)

    @property
    def specificity(self) -> int:
        return (self.channel != ANY) * 2 + (self.priority != ANY)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    targets: tuple[SlaTarget, ...] = ()
    #: The share of a target after which a task turns amber.
    warn_at: float = 0.75

    def target_for(self, channel: str, priority: str) -> SlaTarget | None:
        """The most specific target for a channel kind and priority (a
        channel's own beats a priority's own, which beats the default)."""
        found = [t for t in self.targets if t.matches(channel, priority)]
        return max(found, key=lambda t: t.specificity, default=None)


def due_of(
    fold: TaskFold,
    priority: str,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    now: float,
) -> SlaDue | None:
    """The task's nearest target running out, or None when no clock with a
    target runs (pending, closed, answered, or no target for it)."""
    target = policy.target_for(fold.channel, priority)
    if target is None:
        return None
    nearest: SlaDue | None = None
    for metric, start in fold.running_clocks():
        allowed = target.allowed(metric)
        if allowed is None:
            continue
        spent = fold.business_seconds(start, now)
        due = _moment(calendar, now, allowed - spent)
        warn = _moment(calendar, now, allowed * policy.warn_at - spent)
        if nearest is None or due < nearest.due_at:
            nearest = SlaDue(CLOCK_NAMES[metric], warn, due)
    return nearest


def _moment(calendar: BusinessCalendar, now: float, remaining: float) -> float:
    """When ``remaining`` business seconds from now are spent (in the past
    when they already are)."""
    if remaining <= 0:
        return now + remaining
    after = calendar.after(now, remaining)
    # A calendar that never opens again: far enough never to turn red.
    return after if after is not None else now + NEVER
