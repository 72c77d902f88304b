"""The composer: where the agent writes a reply or an internal note.

ctrl+s sends (it reaches every terminal, where ctrl+enter mostly does not). A
canned response is inserted by typing its trigger (``;refund``) and pressing
tab, or picked from a list with ctrl+t. The line above the text shows the
channel's limits live: characters left, SMS segments, and on a channel with
a messaging window (WhatsApp) the time it stays open; once it has closed,
ctrl+t offers the channel's approved templates instead of free text.

Drafts are kept per task and mode (a reply and a note are two drafts, so a note
is never sent to the customer by mistake): saved a moment after typing stops,
and at once on leaving the editor or the task, sending or quitting. A draft put
back in the editor says so on the status line until it is edited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from time import monotonic

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static, TextArea

from agentdesk.domain.reply_window import ReplyWindow
from agentdesk.plugin import Capabilities

from ..canned import fill, trigger_at_end
from ..labels import format_time
from ..limits import count_text
from ..local_docs import Draft, DraftBook
from .typeahead import OrderedKeys


class ComposeMode(StrEnum):
    REPLY = "reply"
    NOTE = "note"


class ComposerArea(OrderedKeys, TextArea):
    """A TextArea that expands canned-response triggers on tab."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+t", "pick_canned", "Canned", id="composer.canned"),
        Binding("escape", "leave", "Leave composer", id="composer.leave"),
    ]

    def __init__(self, composer: Composer, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, tab_behavior="focus", **kwargs)  # type: ignore[arg-type]
        self.composer = composer

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "tab" and self.app.focused is self and self.composer.expand_trigger():
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def action_send(self) -> None:
        self.composer.send()

    def action_pick_canned(self) -> None:
        self.composer.post_message(Composer.PickCanned(self.composer))

    def action_leave(self) -> None:
        self.composer.keep_draft()
        self.composer.leave()


# While the agent types a reply, the customer is told again this often (a
# channel may forget); and told "stopped" after this long without a keystroke.
TYPING_REPEAT = 3.0
TYPING_IDLE = 5.0
#: Seconds without a keystroke before the draft is saved (a crash loses at most this).
DRAFT_SAVE_DELAY = 0.7
#: How often the time left in a messaging window is redrawn.
WINDOW_REFRESH = 30.0
#: (window hours, now) -> the bound task's messaging window, read from its thread.
WindowSource = Callable[[float, float], ReplyWindow | None]


class Composer(Vertical):
    """A reply/note editor bound to one task at a time, keeping a draft per task and mode."""

    class PickCanned(Message):
        def __init__(self, composer: Composer) -> None:
            super().__init__()
            self.composer = composer

    class Typing(Message):
        """The agent started or stopped writing a reply on ``task_id``, on a
        channel that shows the customer an agent typing."""

        def __init__(self, task_id: str, typing: bool) -> None:
            super().__init__()
            self.task_id = task_id
            self.typing = typing

    def __init__(
        self,
        *,
        canned: dict[str, str],
        fields: Callable[[], dict[str, str]],
        submit: Callable[[str, ComposeMode, str], None],
        leave: Callable[[], None],
        drafts: DraftBook | None = None,
        clock: Callable[[], float] = time.time,
        window: WindowSource | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="composer")
        self.canned = canned
        self._window = window
        self._fields = fields
        #: Hands a reply or note to the desk (queued in order with other commands).
        self.submit = submit
        #: Moves the focus out of the editor, at once (escape, and after sending).
        self.leave = leave
        self.task_id: str | None = None
        self.mode = ComposeMode.REPLY
        self.capabilities: Capabilities | None = None
        self.channel_label = ""
        #: Shared by both conversation panes (and saved by the app).
        self.drafts = drafts if drafts is not None else DraftBook(clock=clock)
        self.clock = clock
        self._draft_timer: Timer | None = None
        # The draft put back in the editor, while its text is unchanged.
        self._restored: Draft | None = None
        # The task the customer was last told the agent types on, and when.
        self._typing_on: str | None = None
        self._typing_told_at = 0.0
        self._typing_idle: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="composer-status", markup=False)
        yield ComposerArea(self, classes="composer-area")

    def on_mount(self) -> None:
        self.set_interval(WINDOW_REFRESH, self._tick)

    def _tick(self) -> None:
        if self.capabilities is not None and self.capabilities.reply_window_hours:
            self.refresh_status()

    def reply_window(self) -> ReplyWindow | None:
        """The bound task's messaging window now, on a channel that has one."""
        hours = self.capabilities.reply_window_hours if self.capabilities else None
        if not hours or self._window is None or self.task_id is None:
            return None
        return self._window(hours, self.clock())

    @property
    def area(self) -> ComposerArea:
        return self.query_one(ComposerArea)

    @property
    def text(self) -> str:
        return self.area.text

    def bind_task(self, task_id: str | None, capabilities: Capabilities | None, label: str) -> None:
        """Switch to another task, keeping the draft of the one we leave."""
        if task_id != self.task_id:
            self.stop_typing()
            self.keep_draft()
            self.task_id = task_id
            # The task opens on its latest draft, reply or note.
            draft = self.drafts.latest(task_id) if task_id else None
            self.mode = ComposeMode(draft.mode) if draft else ComposeMode.REPLY
            self._load(draft)
        self.capabilities = capabilities
        self.channel_label = label
        self.refresh_status()

    def start(self, mode: ComposeMode) -> None:
        """Focus the editor to write a reply or a note."""
        if mode != ComposeMode.REPLY:
            self.stop_typing()
        if mode != self.mode:
            self.keep_draft()
            self.mode = mode
            self._load(self.drafts.get(self.task_id, mode) if self.task_id else None)
        self.refresh_status()
        # At once, not after the queued keys: the text typed right after "r"
        # belongs in the editor, not to the screen's bindings.
        self.screen.set_focus(self.area)

    def clear(self) -> None:
        self.stop_typing()
        self._load(None)
        self.refresh_status()

    def _load(self, draft: Draft | None) -> None:
        """Put a draft (or nothing) in the editor."""
        self._cancel_draft_save()
        self._restored = draft
        self.area.load_text(draft.text if draft else "")
        if draft is not None:
            self.area.move_cursor(self.area.document.end)  # typing goes on where it stopped

    def keep_draft(self) -> None:
        """Hand what the editor holds to the draft book now (it saves it)."""
        self._cancel_draft_save()
        if self.task_id is not None:
            self.drafts.keep(self.task_id, self.mode, self.text)

    def _cancel_draft_save(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.refresh_status()
        self._note_typing()
        if self.task_id is not None:
            self._cancel_draft_save()
            self._draft_timer = self.set_timer(DRAFT_SAVE_DELAY, self.keep_draft)

    def _note_typing(self) -> None:
        """Tell the customer the agent is writing a reply (where the channel can)."""
        caps = self.capabilities
        if (
            self.task_id is None
            or self.mode != ComposeMode.REPLY
            or caps is None
            or not caps.typing_indicators
            or not self.area.has_focus
        ):
            return
        if not self.text.strip():
            self.stop_typing()
            return
        now = monotonic()
        if self._typing_on != self.task_id or now - self._typing_told_at >= TYPING_REPEAT:
            self._typing_on, self._typing_told_at = self.task_id, now
            self.post_message(Composer.Typing(self.task_id, True))
        if self._typing_idle is not None:
            self._typing_idle.stop()
        self._typing_idle = self.set_timer(TYPING_IDLE, self.stop_typing)

    def stop_typing(self) -> None:
        """Tell the customer the agent stopped writing (if they were told it wrote)."""
        if self._typing_idle is not None:
            self._typing_idle.stop()
            self._typing_idle = None
        if self._typing_on is not None:
            self.post_message(Composer.Typing(self._typing_on, False))
            self._typing_on = None

    @property
    def restored(self) -> Draft | None:
        """The draft the editor shows as it was put back, if it is still unedited."""
        draft = self._restored
        if draft is None or draft.task_id != self.task_id or draft.text != self.text:
            return None
        return draft

    def refresh_status(self) -> None:
        status = self.query_one(".composer-status", Static)
        self.set_class(self.mode == ComposeMode.NOTE, "-note")
        if self.task_id is None:
            status.update("No task open", layout=False)
            self.set_class(False, "-over")
            return
        restored = self.restored
        # First on the line, so a narrow pane still shows it.
        hint = f"↺ draft of {format_time(restored.saved_at, self.clock())} · " if restored else ""
        self.set_class(restored is not None, "-restored")
        if self.mode == ComposeMode.NOTE:
            status.update(
                f"{hint}Internal note (not sent to the customer) · {len(self.text)} chars",
                layout=False,
            )
            self.set_class(False, "-over")
            return
        window = self.reply_window()
        if window is not None and not window.open:
            status.update(
                f"{hint}Reply via {self.channel_label} · {window.describe()} (ctrl+t)",
                layout=False,
            )
            self.set_class(True, "-over")
            return
        count = count_text(self.text, self.capabilities)
        opened = f" · {window.describe()}" if window is not None else ""
        status.update(
            f"{hint}Reply via {self.channel_label} · {count.describe()}{opened} · ctrl+s send",
            layout=False,
        )
        self.set_class(count.over, "-over")

    def send(self) -> None:
        text = self.text
        if self.task_id is None or not text.strip():
            self.app.bell()
            return
        window = self.reply_window() if self.mode == ComposeMode.REPLY else None
        if window is not None and not window.open:
            self.app.notify(
                f"{self.channel_label}: {window.describe()}; ctrl+t picks one. "
                "Your text is kept as a draft.",
                severity="error",
                markup=False,
            )
            self.keep_draft()
            return
        if self.mode == ComposeMode.REPLY:
            count = count_text(text, self.capabilities)
            if count.over:
                self.app.notify(
                    f"Too long for {self.channel_label}: "
                    f"{count.length} of {count.limit} characters",
                    severity="error",
                    markup=False,
                )
                return
        self.stop_typing()
        # Saved before it goes: a refused send or a crash meanwhile loses nothing.
        self.keep_draft()
        self.submit(self.task_id, self.mode, text)
        self.leave()

    def expand_trigger(self) -> bool:
        """Replace a ``;trigger`` right before the cursor by its canned text."""
        area = self.area
        row, column = area.cursor_location
        before = area.document.get_line(row)[:column]
        trigger = trigger_at_end(before)
        if trigger is None or trigger not in self.canned:
            return False
        start = (row, column - len(trigger) - 1)
        area.replace(fill(self.canned[trigger], self._fields()), start, (row, column))
        return True

    def fields(self) -> dict[str, str]:
        """The fields a canned response fills in, for the bound task."""
        return self._fields()

    def insert_canned(self, trigger: str) -> None:
        if trigger in self.canned:
            self.area.insert(fill(self.canned[trigger], self._fields()))
            self.area.focus()
