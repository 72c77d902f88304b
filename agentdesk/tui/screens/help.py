"""Help: every key of the console, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keymap import KeyGroup, key_list


def help_table(
    groups: list[KeyGroup], keymap: Mapping[str, str], display: Callable[[str], str]
) -> Table:
    """A two-column table (keys, what they do), one section per group."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("keys", no_wrap=True, style="bold", min_width=12)
    table.add_column("does", ratio=1)
    for group in groups:
        table.add_row(Text(group.title, style="bold underline"), "")
        seen: set[str] = set()
        for binding in group.bindings:
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            keys = " / ".join(display(k) for k in key_list(binding, keymap))
            table.add_row(Text(keys), Text(binding.description))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """Generated from the bindings (after the keymap), so it never goes stale."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close help", id="help.close"),
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="help.up"),
    ]

    def __init__(self, groups: list[KeyGroup], keymap: Mapping[str, str]) -> None:
        super().__init__(classes="prompt help")
        self.groups = groups
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-body"):
            yield Static("Keys — escape closes", classes="dialog-title")
            yield Static(self.table(), id="help-table")

    def table(self) -> Table:
        def display(key: str) -> str:
            return self.app.get_key_display(Binding(key, ""))

        return help_table(self.groups, self.keymap, display)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_scroll_down(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_up()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
