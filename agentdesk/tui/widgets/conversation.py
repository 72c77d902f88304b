"""A conversation pane: the task's title, its whole thread, and the composer."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from agentdesk.domain import Event, Task
from agentdesk.domain.reply_window import ReplyWindow, reply_window

from ..event_text import EventText, describe_event
from ..labels import PRIORITY_LABELS, STATUS_LABELS, channel_badge, format_time
from ..local_docs import DraftBook
from ..safe_text import safe_line
from .composer import ComposeMode, Composer
from .thread_view import Thread

#: A thread shows its latest events; older ones are summed up in one line.
MAX_EVENTS = 200
#: Seconds a "typing" signal shows without news from the channel.
TYPING_SHOWN_FOR = 10.0


class ConversationPane(Vertical):
    """Shows one task: title, thread, composer. Two of these make the split view."""

    def __init__(
        self,
        *,
        me: str,
        canned: dict[str, str],
        fields: Callable[[ConversationPane], dict[str, str]],
        submit: Callable[[ConversationPane, str, ComposeMode, str], None],
        clock: Callable[[], float] = time.time,
        drafts: DraftBook | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="pane conversation")
        self.me = me
        self.clock = clock
        self._canned = canned
        self._fields = fields
        self._submit = submit
        self._drafts = drafts
        self.current: Task | None = None
        self.events: list[Event] = []
        self.customer_name = "customer"
        self._typing_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "Select a task in the inbox and press enter.", classes="pane-title", markup=False
        )
        yield Thread(classes="thread")
        yield Static("✎ the customer is typing…", classes="typing", markup=False)
        yield Static("", classes="viewers", markup=False)
        yield Composer(
            canned=self._canned,
            fields=lambda: self._fields(self),
            submit=lambda task_id, mode, text: self._submit(self, task_id, mode, text),
            leave=lambda: self.screen.set_focus(self.thread),
            drafts=self._drafts,
            clock=self.clock,
            window=self._reply_window,
        )

    def _reply_window(self, hours: float, now: float) -> ReplyWindow | None:
        task = self.current
        return reply_window(self.events, task.channel, hours, now) if task else None

    @property
    def task_id(self) -> str | None:
        return self.current.id if self.current else None

    @property
    def thread(self) -> Thread:
        return self.query_one(Thread)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def show(self, task: Task | None, events: list[Event], customer_name: str) -> None:
        """Replace what the pane shows."""
        self.current = task
        self.events = list(events)
        self.customer_name = customer_name
        self._render_title()
        now = self.clock()
        shown = self.events[-MAX_EVENTS:]
        blocks: list[tuple[str, EventText]] = []
        if len(self.events) > len(shown):
            hidden = len(self.events) - len(shown)
            line = Text(f"… {hidden} earlier events (search finds them)")
            blocks.append(("earlier", EventText("event -system", line)))
        if task is None:
            blocks.append(("nothing", EventText("event -system", Text("Nothing open."))))
        blocks.extend(
            (e.id, describe_event(e, now=now, customer_name=customer_name)) for e in shown
        )
        self.thread.replace(blocks)
        self.thread.scroll_end(animate=False, immediate=False)

    def begin(self, task: Task, customer_name: str) -> None:
        """Show a task's title at once and empty the thread until its events load."""
        self.current = task
        self.events = []
        self.customer_name = customer_name
        self._render_title()
        self.set_typing(False)
        self.thread.replace([])

    def set_typing(self, typing: bool) -> None:
        """Show (or hide) that the customer is typing; it hides by itself after a while
        in case the channel never says they stopped."""
        line = self.query_one(".typing", Static)
        line.display = typing
        if self._typing_timer is not None:
            self._typing_timer.stop()
            self._typing_timer = None
        if typing:
            self._typing_timer = self.set_timer(TYPING_SHOWN_FOR, lambda: self.set_typing(False))

    def set_viewers(self, names: list[str]) -> None:
        """Show who else has this conversation on their screen (nobody: hidden)."""
        others = [name for name in names if name != self.me]
        line = self.query_one(".viewers", Static)
        line.display = bool(others)
        if others:
            shown = ", ".join(safe_line(name, 24) for name in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            line.update(f"👁 also on this conversation: {shown}{more}")

    def update_task(self, task: Task) -> None:
        if self.current is not None and task.id == self.current.id:
            self.current = task
            self._render_title()

    def add_event(self, event: Event) -> None:
        """Add a live event, or replace it (a delivery state that changed)."""
        if self.current is None or event.task_id != self.current.id:
            return
        drawn = describe_event(event, now=self.clock(), customer_name=self.customer_name)
        for index, known in enumerate(self.events):
            if known.id == event.id:
                self.events[index] = event
                if event.id in self.thread.keys:
                    self.thread.put(event.id, drawn)
                return
        self.events.append(event)
        self.composer.refresh_status()  # a customer's message reopens a messaging window
        at_end = self.thread.at_end
        self.thread.put(event.id, drawn)
        if at_end:
            self.thread.scroll_end(animate=False, immediate=False)

    def _render_title(self) -> None:
        title = self.query_one(".pane-title", Static)
        task = self.current
        if task is None:
            title.update("Select a task in the inbox and press enter.", layout=False)
            return
        text = Text()
        text.append(f"#{task.number} ", "bold")
        text.append(safe_line(task.subject or task.preview, 60), "bold")
        text.append(f"  {safe_line(task.customer_name, 30)}")
        text.append(f" · {channel_badge(task.channel_kind).strip()} {safe_line(task.channel, 20)}")
        status = STATUS_LABELS.get(task.status, str(task.status))
        if task.pending_until:
            status += f" until {format_time(task.pending_until, self.clock())}"
        text.append(f" · {status}")
        priority = PRIORITY_LABELS.get(task.priority, "")
        if priority:
            text.append(f" · {priority}")
        owner = "me" if task.assignee == self.me else task.assignee or "unassigned"
        text.append(f" · {safe_line(owner, 20)}")
        if task.team:
            text.append(f" ({safe_line(task.team, 20)})")
        if task.tags:
            text.append(" · " + safe_line(" ".join(f"#{t}" for t in task.tags), 40))
        title.update(text, layout=False)
