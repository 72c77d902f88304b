"""A channel's messaging window: free text only so long after the customer wrote.

WhatsApp lets a business answer freely for 24 hours after the customer's last
message and only with approved templates after that. The desk refuses free
text outside the window and the composer shows the time left; both read it
here, from the task's timeline, so they always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .events import Direction, Event, Message


@dataclass(frozen=True, slots=True)
class ReplyWindow:
    """When free text stops being allowed, and whether it already has."""

    #: Epoch seconds the window closes (or closed); None when the customer
    #: never wrote on this channel, so it never opened.
    closes_at: float | None
    now: float

    @property
    def open(self) -> bool:
        return self.closes_at is not None and self.now < self.closes_at

    @property
    def left(self) -> float:
        """Seconds of the window left, 0 once closed."""
        return max(0.0, (self.closes_at or 0.0) - self.now)

    def describe(self) -> str:
        """A few words for the agent: "window open 5h 12m" / "window closed"."""
        if self.open:
            return f"window open {_span(self.left)}"
        if self.closes_at is None:
            return "window closed: the customer has not written here; send a template"
        return f"window closed {_span(self.now - self.closes_at)} ago: send a template"


def reply_window(events: Iterable[Event], channel: str, hours: float, now: float) -> ReplyWindow:
    """The window on ``channel`` given a task's timeline: it closes ``hours``
    after the customer's last message there."""
    last = max(
        (
            e.at
            for e in events
            if isinstance(e, Message) and e.channel == channel and e.direction == Direction.INBOUND
        ),
        default=None,
    )
    return ReplyWindow(None if last is None else last + hours * 3600, now)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d"
