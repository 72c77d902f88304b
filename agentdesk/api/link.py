"""Where a remote console stands with its hub, for the header to say plainly.

A desk client that can lose its desk (the hub's) is a ``LinkedClient``: the
console asks it to report each change of link and shows the latest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class LinkState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    #: Lost; trying again at ``retry_at``.
    OFFLINE = "offline"
    #: The hub refused this console (token revoked, other version): no retry.
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Link:
    state: LinkState
    detail: str = ""
    #: When the next attempt is made (epoch seconds), while offline.
    retry_at: float | None = None
    #: Commands made and not yet answered by the hub.
    queued: int = 0

    def describe(self, now: float) -> str:
        """One short line: "offline — reconnecting in 4 s", "online"..."""
        if self.state == LinkState.OFFLINE:
            wait = max(0, round((self.retry_at or now) - now))
            text = f"offline — reconnecting in {wait} s" if wait else "offline — reconnecting"
        elif self.state == LinkState.REFUSED:
            text = f"refused: {self.detail}" if self.detail else "refused by the hub"
        else:
            text = str(self.state)
        # Online, a command is in flight for a moment: "queued" would flicker.
        if self.queued and self.state != LinkState.ONLINE:
            text += f" · {self.queued} queued"
        return text


@runtime_checkable
class LinkedClient(Protocol):
    """A desk client whose desk is elsewhere: it says where its link stands."""

    link: Link

    def watch_link(self, callback: Callable[[Link], None]) -> None:
        """Call ``callback`` with the link now and on every change."""
        ...
