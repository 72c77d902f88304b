"""The handoff dialog: move a task to another channel, with a first message."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from agentdesk.api import ChannelStatus
from agentdesk.domain import Customer, Task, identity_problem, normalize_identity
from agentdesk.plugin import ReplyTemplate

from ..handoff_targets import HandoffTarget, handoff_targets
from ..labels import channel_badge
from ..safe_text import safe_line

FIRST_MESSAGE = "First message (edit or clear it):"
CALL_BACK = "A call back: your phone rings, then the customer's (no message is sent)."
TEMPLATE_FIRST = (
    "This channel takes only approved templates until the customer writes there: "
    "ctrl+s, then choose one and fill it in."
)


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    channel: str
    identity: str
    message: str | None
    #: The first message must be one of these (a messaging window not open yet).
    templates: tuple[ReplyTemplate, ...] = ()


def context_line(task: Task, customer: Customer | None) -> str:
    """The editable first message telling the customer why we write here now."""
    first = customer.first_name if customer else "there"
    about = f" about “{task.subject}”" if task.subject else ""
    kind = task.channel_kind or task.channel
    return (
        f"Hi {safe_line(first, 40)}, we are continuing our {kind} conversation{about} here "
        f"(ref #{task.number})."
    )


class HandoffScreen(ModalScreen[HandoffRequest | None]):
    """Choose the target channel and identity; ctrl+s hands off, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="handoff.cancel"),
        Binding("ctrl+s", "confirm", "Hand off", id="handoff.confirm", priority=True),
    ]

    def __init__(
        self, task: Task, customer: Customer | None, channels: list[ChannelStatus]
    ) -> None:
        super().__init__(classes="prompt handoff")
        self.handoff_task = task
        self.customer = customer
        self.targets = handoff_targets(task, customer, channels)

    def compose(self) -> ComposeResult:
        task = self.handoff_task
        with Vertical(classes="dialog"):
            yield Label(
                f"Hand off #{task.number} from {task.channel} to…",
                classes="dialog-title",
                markup=False,
            )
            options = [Option(self._label(t), id=str(i)) for i, t in enumerate(self.targets)]
            yield OptionList(*options, id="targets")
            yield Input(placeholder="new address", id="identity", disabled=True)
            yield Label(FIRST_MESSAGE, id="message-hint", classes="dialog-hint")
            yield TextArea(context_line(task, self.customer), id="message", soft_wrap=True)
            yield Static(
                "enter choose · ctrl+s hand off · escape cancel",
                classes="dialog-hint",
                markup=False,
            )
            yield Static("", classes="dialog-error", markup=False)

    def _label(self, target: HandoffTarget) -> Text:
        text = Text(f"{channel_badge(target.kind)} {safe_line(target.channel, 20)} → ")
        if target.identity is None:
            text.append(f"new {target.identity_kind}…", "italic")
        else:
            text.append(safe_line(target.identity, 50))
        return text

    def on_mount(self) -> None:
        if not self.targets:
            self._error("No other channel can reach this customer.")
        self.query_one("#targets", OptionList).focus()

    @property
    def target(self) -> HandoffTarget | None:
        index = self.query_one("#targets", OptionList).highlighted
        return self.targets[index] if index is not None and index < len(self.targets) else None

    @on(OptionList.OptionHighlighted, "#targets")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        target = self.target
        identity = self.query_one("#identity", Input)
        identity.disabled = target is None or target.identity is not None
        if target is not None and target.identity is None:
            identity.placeholder = f"new {target.identity_kind} for {target.channel}"
        calling = target is not None and target.calls
        templated = target is not None and bool(target.templates)
        self.query_one("#message", TextArea).disabled = calling or templated
        hint = CALL_BACK if calling else TEMPLATE_FIRST if templated else FIRST_MESSAGE
        self.query_one("#message-hint", Label).update(hint)
        self._error("")

    @on(OptionList.OptionSelected, "#targets")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        target = self.target
        if target is not None and target.identity is None:
            self.query_one("#identity", Input).focus()
        else:
            self.query_one("#message", TextArea).focus()

    @on(Input.Submitted, "#identity")
    def _identity_done(self, event: Input.Submitted) -> None:
        event.stop()
        target = self.target
        if target is not None:
            error = identity_problem(target.identity_kind, event.value)
            if error:
                self._error(error)
                return
        self._error("")
        self.query_one("#message", TextArea).focus()

    def _error(self, text: str) -> None:
        line = self.query_one(".dialog-error", Static)
        line.update(Text(text))
        line.set_class(bool(text), "-error")

    def action_confirm(self) -> None:
        target = self.target
        if target is None:
            self._error("Choose where to hand off to.")
            return
        if target.identity is None:
            typed = self.query_one("#identity", Input).value
            error = identity_problem(target.identity_kind, typed)
            if error:
                self._error(error)
                self.query_one("#identity", Input).focus()
                return
            identity = normalize_identity(target.identity_kind, typed)
        else:
            identity = target.identity
        text = self.query_one("#message", TextArea).text.strip()
        message = None if target.calls or target.templates or not text else text
        self.dismiss(HandoffRequest(target.channel, identity, message, target.templates))

    def action_cancel(self) -> None:
        self.dismiss(None)
