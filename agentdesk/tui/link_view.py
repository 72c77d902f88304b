"""The header's word on a hub's link: the state, when it retries, what waits.

A console on a hub learns of each change of its link from the client; while
offline the countdown ("reconnecting in 4 s") is redrawn every second. The
embedded desk has no link and never calls this.
"""

from __future__ import annotations

from collections.abc import Callable

from agentdesk.api.link import Link, LinkState

from .safe_text import safe_line

#: The header's three looks for the link's four states.
_LOOK = {
    LinkState.ONLINE: "online",
    LinkState.CONNECTING: "connecting",
    LinkState.OFFLINE: "offline",
    LinkState.REFUSED: "offline",
}


class LinkView:
    def __init__(
        self,
        show: Callable[[str, str], None],
        notify: Callable[..., None],
        clock: Callable[[], float],
        back: Callable[[], None] = lambda: None,
    ) -> None:
        """``back``: called when the link comes back online after being away."""
        self._show = show
        self._back = back
        self._notify = notify
        self._clock = clock
        self.link: Link | None = None

    def changed(self, link: Link) -> None:
        before, self.link = self.link, link
        self.redraw()
        if link.state == LinkState.ONLINE and before is not None and before.state != link.state:
            self._back()
        if link.state == LinkState.REFUSED and (before is None or before.state != link.state):
            self._notify(
                safe_line(f"The hub refused this console: {link.detail}", 300),
                markup=False,
                title="Hub",
                severity="error",
                timeout=60,
            )

    def redraw(self) -> None:
        if self.link is not None:
            self._show(_LOOK[self.link.state], self.link.describe(self._clock()))

    def tick(self) -> None:
        """Each second: the countdown moves while offline."""
        if self.link is not None and self.link.state == LinkState.OFFLINE:
            self.redraw()
