"""Small modal prompts: one line of text, a choice, a transfer target."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

#: A check returns an error sentence, or None when the text is acceptable.
Check = Callable[[str], str | None]


class TextPrompt(ModalScreen[str | None]):
    """Ask for one line of text. Enter accepts, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
        check: Check | None = None,
        preview: Callable[[str], str] | None = None,
        suggestions: list[str] | None = None,
    ) -> None:
        super().__init__(classes="prompt")
        self._title = title
        self._value = value
        self._placeholder = placeholder
        self._hint = hint
        self._check = check
        self._preview = preview
        self._suggestions = suggestions or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            suggester = (
                SuggestFromList(self._suggestions, case_sensitive=False)
                if self._suggestions
                else None
            )
            yield Input(self._value, placeholder=self._placeholder, suggester=suggester)
            yield Static(self._hint, classes="dialog-hint", markup=False)
            yield Static("", classes="dialog-error", markup=False)

    def on_mount(self) -> None:
        self._show(self._value)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, value: str) -> None:
        error = self._check(value) if self._check else None
        line = self.query_one(".dialog-error", Static)
        if error:
            line.update(Text(error))
            line.set_class(True, "-error")
        else:
            line.update(Text(self._preview(value) if self._preview else ""))
            line.set_class(False, "-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._check and self._check(event.value):
            self.app.bell()
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of a few options (by id). Enter picks, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("j", "down", "Next choice", show=False, id="choice.down"),
        Binding("k", "up", "Previous choice", show=False, id="choice.up"),
    ]

    def __init__(
        self, title: str, choices: Sequence[tuple[str, str | Text]], *, current: str | None = None
    ) -> None:
        super().__init__(classes="prompt")
        self._title = title
        self._choices = choices
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            options = [
                Option(label if isinstance(label, Text) else Text(label), id=key)
                for key, label in self._choices
            ]
            yield OptionList(*options)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [key for key, _ in self._choices]
        if self._current in ids:
            options.highlighted = ids.index(self._current)
        options.focus()

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    assignee: str | None
    team: str | None
    note: str


class TransferPrompt(ModalScreen[TransferRequest | None]):
    """Transfer a task to an agent or a team, with a note for whoever takes it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, *, agents: list[str], teams: list[str]) -> None:
        super().__init__(classes="prompt")
        self._title = title
        self._agents = agents
        self._teams = teams

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Input(
                placeholder="agent (optional)",
                id="agent",
                suggester=SuggestFromList(self._agents) if self._agents else None,
            )
            yield Input(
                placeholder="team (optional)",
                id="team",
                suggester=SuggestFromList(self._teams) if self._teams else None,
            )
            yield Input(placeholder="note for the next person", id="note")
            yield Static(
                "enter moves on, then transfers · escape cancels",
                classes="dialog-hint",
                markup=False,
            )
            yield Static("", classes="dialog-error", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != "note":
            self.focus_next()
            return
        agent = self.query_one("#agent", Input).value.strip() or None
        team = self.query_one("#team", Input).value.strip() or None
        if agent is None and team is None:
            error = self.query_one(".dialog-error", Static)
            error.update("Name an agent or a team.")
            error.set_class(True, "-error")
            self.query_one("#agent", Input).focus()
            return
        self.dismiss(TransferRequest(agent, team, self.query_one("#note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
