"""The top line: the agent, whether the desk is reachable, and each channel's health."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from agentdesk.core.client import ChannelStatus

from ..labels import CHANNEL_BADGES, HEALTH_SYMBOLS
from ..safe_text import safe_line


class DeskHeader(Horizontal):
    """``agentdesk · ana · ● online   ✉email ✔  ✆sms ✖``"""

    def __init__(self, title: str, agent: str) -> None:
        super().__init__(id="desk-header")
        self._title = title
        self.agent = agent

    def compose(self) -> ComposeResult:
        yield Static(safe_line(self._title, 30), id="brand", markup=False)
        yield Static(safe_line(self.agent, 30), id="agent", markup=False)
        yield Static("○ connecting", id="presence", markup=False)
        yield Horizontal(id="channels")

    def set_agent(self, agent: str) -> None:
        self.agent = agent
        widget = self.query_one("#agent", Static)
        widget.update(safe_line(agent, 30))
        # A title such as "agentdesk — ana" already names the agent.
        widget.display = bool(agent) and agent not in self._title

    def set_presence(self, presence: str) -> None:
        """``online``, ``connecting`` or ``offline``; shown with a symbol and a class."""
        symbol = {"online": "●", "connecting": "○", "offline": "✖"}.get(presence, "?")
        widget = self.query_one("#presence", Static)
        widget.update(f"{symbol} {presence}")
        for state in ("online", "connecting", "offline"):
            widget.set_class(state == presence, f"-{state}")

    def set_channels(self, channels: list[ChannelStatus]) -> None:
        box = self.query_one("#channels", Horizontal)
        box.remove_children()
        widgets = []
        for channel in channels:
            icon = CHANNEL_BADGES.get(channel.kind, ("•", ""))[0]
            symbol = HEALTH_SYMBOLS.get(channel.state, "?")
            label = f"{icon}{safe_line(channel.name, 16)} {symbol}"
            widget = Static(label, classes=f"channel -{channel.state}", markup=False)
            widget.tooltip = safe_line(
                f"{channel.name}: {channel.state} {channel.detail or channel.last_error or ''}",
                200,
            )
            widgets.append(widget)
        box.mount_all(widgets)
