"""The top line: the agent, whether the desk is reachable, and each channel's health."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.widgets import Static

from agentdesk.api import ChannelStatus

from ..labels import CHANNEL_BADGES, HEALTH_SYMBOLS
from ..safe_text import capped_text, safe_line

#: Below this width channels show as icon and state only.
COMPACT_BELOW = 110


class DeskHeader(Horizontal):
    """``agentdesk · ana · ● online   ✉email ✔  ✆sms ✖``"""

    def __init__(self, title: str, agent: str) -> None:
        super().__init__(id="desk-header")
        self._title = title
        self.agent = agent
        self._channels: list[ChannelStatus] = []
        self._compact = False
        self._team = ("", "")

    def compose(self) -> ComposeResult:
        yield Static(safe_line(self._title, 30), id="brand", markup=False)
        yield Static(safe_line(self.agent, 30), id="agent", markup=False)
        yield Static("○ connecting", id="presence", markup=False)
        team = Static("", id="team", markup=False)
        team.display = False  # a desk of one has no team to show
        yield team
        yield Horizontal(id="channels")

    def set_team(self, summaries: tuple[str, str], roster: str) -> None:
        """Who of the team is there, in a few characters (full, compact); everyone
        in the tooltip."""
        self._team = summaries
        summary = summaries[1] if self._compact else summaries[0]
        widget = self.query_one("#team", Static)
        widget.update(safe_line(summary, 48))
        widget.display = bool(summary)
        if roster:
            widget.tooltip = capped_text(roster, max_lines=40)

    def set_agent(self, agent: str) -> None:
        self.agent = agent
        widget = self.query_one("#agent", Static)
        widget.update(safe_line(agent, 30))
        # A title such as "agentdesk — ana" already names the agent.
        widget.display = bool(agent) and agent not in self._title

    def set_presence(self, presence: str, text: str = "") -> None:
        """``online``, ``connecting`` or ``offline``, shown with a symbol and a class,
        and ``text`` in place of the word when there is more to say (a hub's link:
        "offline — reconnecting in 4 s · 2 queued")."""
        symbol = {"online": "●", "connecting": "○", "offline": "✖"}.get(presence, "?")
        widget = self.query_one("#presence", Static)
        widget.update(f"{symbol} {safe_line(text or presence, 60)}")
        for state in ("online", "connecting", "offline"):
            widget.set_class(state == presence, f"-{state}")

    def on_resize(self, event: Resize) -> None:
        # Narrow terminals get icon and state only ("✉✔ ✆✖"); the tooltip names it.
        compact = event.size.width < COMPACT_BELOW
        if compact != self._compact:
            self._compact = compact
            self.set_channels(self._channels)
            self.set_team(self._team, "")

    def set_channels(self, channels: list[ChannelStatus]) -> None:
        self._channels = list(channels)
        box = self.query_one("#channels", Horizontal)
        shown = list(box.query_children(Static))
        if len(shown) != len(channels):
            # Channels came or went: build the row again (a layout, rarely).
            box.remove_children()
            shown = [Static("", markup=False) for _ in channels]
            box.mount_all(shown)
        # Otherwise each badge changes in place: a health change redraws one word.
        for widget, channel in zip(shown, channels, strict=True):
            icon = CHANNEL_BADGES.get(channel.kind, ("•", ""))[0]
            symbol = HEALTH_SYMBOLS.get(channel.state, "?")
            label = (
                f"{icon}{symbol}"
                if self._compact
                else f"{icon}{safe_line(channel.name, 16)} {symbol}"
            )
            if widget.content != label:
                # A badge as wide as before redraws in place; another width lays out.
                widget.update(label, layout=len(str(widget.content)) != len(label))
            widget.set_classes(f"channel -{channel.state}")
            widget.tooltip = safe_line(
                f"{channel.name}: {channel.state} {channel.detail or channel.last_error or ''}",
                200,
            )
