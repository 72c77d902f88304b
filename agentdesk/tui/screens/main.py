"""The main screen: inbox, conversation (or two, split) and customer pane.

Task actions (reply, close, assign...) act on the task of the conversation that
has focus, or on the inbox's selected task when the inbox has focus. Desk
commands run in a worker, one after the other in the order they were given;
the screen never waits on the desk. Opening tasks lives in ``opening``, moving
between panes and views in ``navigation``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.widget import Widget
from textual.widgets import Static

from agentdesk.api import ChannelStatus, SlaDue, Update
from agentdesk.api import requests as rq
from agentdesk.domain import Status, Task

from ..desk_controller import DeskController
from ..inbox_index import InboxIndex
from ..local_docs import DraftBook
from ..safe_text import safe_line
from ..widgets.composer import ComposeMode, Composer
from ..widgets.conversation import ConversationPane
from ..widgets.customer_pane import CustomerPane
from ..widgets.desk_header import DeskHeader
from ..widgets.inbox import InboxList
from ..widgets.key_bar import KeyBar
from . import task_actions
from .desk_screen import CONVERSATIONS, FIRST, SECOND
from .navigation import Navigation
from .opening import TaskOpening

if TYPE_CHECKING:
    pass

#: Below this many columns one pane at a time gets the whole width.
NARROW_WIDTH = 120


class MainScreen(TaskOpening, Navigation):
    BINDINGS = [
        Binding("r", "reply", "Reply", id="reply"),
        Binding("n", "note", "Note", id="note"),
        Binding("p", "pending", "Pending", id="pending"),
        Binding("x", "close_task", "Close", id="close"),
        Binding("o", "reopen", "Reopen", show=False, id="reopen"),
        Binding("a", "assign", "Assign", show=False, id="assign"),
        Binding(
            "N",
            "take_next",
            "Take next",
            show=False,
            id="take_next",
            tooltip="Take the best waiting task for you, by the desk's routing rules",
        ),
        Binding("t", "transfer", "Transfer", show=False, id="transfer"),
        Binding("h", "handoff", "Handoff", show=False, id="handoff"),
        Binding(
            "c",
            "call_back",
            "Call back",
            show=False,
            id="call_back",
            tooltip="Ring your phone, then put the customer through (a channel that places calls)",
        ),
        Binding("number_sign", "tags", "Tags", show=False, id="tags"),
        Binding("exclamation_mark", "priority", "Priority", show=False, id="priority"),
        Binding("slash", "search", "Search", id="search"),
        Binding("s", "split", "Split view", show=False, id="split"),
        Binding("w", "swap", "Swap split panes", show=False, id="swap"),
        Binding("tab", "next_pane", "Next pane", show=False, id="next_pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="previous_pane"),
        Binding("escape", "back", "Back to inbox", show=False, id="back"),
        Binding("v", "cycle_scope", "View: mine / unassigned / all", show=False, id="view.scope"),
        Binding("f", "cycle_status", "Filter by status", show=False, id="view.status"),
        Binding("O", "cycle_sort", "Sort order", show=False, id="view.sort"),
        Binding("0", "channel_view(0)", "All channels", show=False, id="view.channel.0"),
        *[
            Binding(
                str(n), f"channel_view({n})", f"Channel {n}", show=False, id=f"view.channel.{n}"
            )
            for n in range(1, 10)
        ],
        Binding("question_mark", "help", "Help", id="help"),
    ]

    def __init__(
        self,
        *,
        me: str,
        title: str,
        canned: dict[str, str],
        clock: Callable[[], float] = time.time,
        waiting_warn: float = 15 * 60,
        waiting_error: float = 60 * 60,
        drafts: DraftBook | None = None,
    ) -> None:
        super().__init__(id="main")
        self.me = me
        self.title_text = title
        self.canned = canned
        self.clock = clock
        self.index = InboxIndex(me)
        #: Every task's drafts, for both conversation panes.
        self.drafts = drafts if drafts is not None else DraftBook(clock=clock)
        self._waiting = (waiting_warn, waiting_error)
        #: The desk as this screen's actions reach it (client, command queue, caches).
        self.controller = DeskController(lambda: self.desk_app.client, self.notify)
        self.controller.target = self.target_task
        self.controller.on_task_changed(self._task_changed)
        self.split = False
        self.active_conv = FIRST
        self.active_pane = "inbox-pane"
        self._selected_none = True
        self._anchor: dict[str, int] = {}
        self._unloaded: set[str] = set()
        #: Who has each task on their screen (the desk says; task id -> agents).
        self.viewers: dict[str, list[str]] = {}
        #: A task another screen has the task actions act on, while it asks.
        self.acting_on: Task | None = None
        #: The task last said to be on screen (``report_focus``).
        self._focus_said: str | None = None

    # --- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield DeskHeader(self.title_text, self.me)
        with Horizontal(id="panes"):
            with Vertical(id="inbox-pane", classes="pane -active"):
                yield Static("", id="inbox-title", markup=False)
                yield InboxList(
                    self.index,
                    clock=self.clock,
                    waiting_warn=self._waiting[0],
                    waiting_error=self._waiting[1],
                    id="inbox",
                )
            with Horizontal(id="centre", classes="pane"):
                for pane_id in CONVERSATIONS:
                    yield ConversationPane(
                        me=self.me,
                        canned=self.canned,
                        fields=self._fields,
                        submit=self._submit,
                        clock=self.clock,
                        drafts=self.drafts,
                        id=pane_id,
                    )
            yield CustomerPane(clock=self.clock, id="customer")
        yield KeyBar()

    # Focus moves with set_focus, at once: keys typed ahead (r then text, ctrl+s
    # then x) must reach the widget the previous key chose, not the old one.

    def on_mount(self) -> None:
        self.pane(SECOND).display = False
        self.inbox.focus()
        self._title()
        self.set_interval(5, self.inbox.refresh_clock)
        self._run_commands()

    @work(group="commands")
    async def _run_commands(self) -> None:
        await self.controller.run_commands()

    def _task_changed(self, task: Task) -> None:
        """A command of this console changed ``task``: shown at once, before its update."""
        self.inbox.apply([task])
        for pane in self.conversation_panes():
            pane.update_task(task)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    def _title(self) -> None:
        view = self.index.view
        if not self.index.complete:
            text = f"{view.describe()} · sorting {self.index.known():,} tasks…"
        else:
            count = len(self.index)
            text = f"{view.describe()} · {count:,} task{'s' if count != 1 else ''}"
        self.query_one("#inbox-title", Static).update(text, layout=False)
        self.inbox.set_empty_hint(self._empty_hint())

    def _empty_hint(self) -> list[str]:
        """Why the inbox is empty, and what to do about it."""
        if len(self.index) or not self.index.complete or not self.controller.connected:
            return []
        if self.index.known():
            return ["Nothing in this view.", "v mine/unassigned/all · f status · 0 all channels"]
        channels = list(self.controller.channels.values())
        if not channels:
            return [
                "No tasks, and no channel is configured.",
                "Try `agentdesk demo`, or add [[channels]] to the config",
                "(`agentdesk doctor` shows what is set up).",
            ]
        states = ", ".join(f"{safe_line(c.name, 20)} {c.state}" for c in channels[:6])
        return ["No tasks yet: customers have not written.", f"Channels: {states}"]

    @on(InboxList.Sorted)
    def _sorted(self) -> None:
        self._title()

    @on(InboxList.Highlighted)
    def _highlighted(self, event: InboxList.Highlighted) -> None:
        # The task actions (r, n, p, x...) need a task: the footer shows them
        # once the inbox has one selected, however late the snapshot came.
        if (event.task_id is None) != self._selected_none:
            self._selected_none = event.task_id is None
            self.refresh_bindings()

    @on(DescendantFocus)
    def _focus_moved(self, event: DescendantFocus) -> None:
        node: Widget | None = event.widget
        while node is not None and node is not self:
            if node.id in CONVERSATIONS and node.id != self.active_conv:
                self.active_conv = node.id
                self._show_customer_of(self.pane())
                self.report_focus()
            if node.id in ("inbox-pane", "centre", "customer"):
                self._activate(node.id)
                break
            node = node.parent  # type: ignore[assignment]

    def _activate(self, pane_id: str) -> None:
        self.active_pane = pane_id
        for pane_name in ("inbox-pane", "centre", "customer"):
            self.query_one(f"#{pane_name}").set_class(pane_name == pane_id, "-active")

    # --- data from the desk -------------------------------------------------------

    def load_snapshot(
        self,
        tasks: list[Task],
        channels: list[ChannelStatus],
        sla: dict[str, SlaDue] | None = None,
        viewers: dict[str, list[str]] | None = None,
        waiting: dict[str, str] | None = None,
    ) -> None:
        self.inbox.load(tasks)
        self.inbox.set_sla(dict(sla or {}), whole=True)
        self.inbox.set_reasons(dict(waiting or {}), whole=True)
        self.viewers = dict(viewers or {})
        for pane in self.conversation_panes():
            pane.set_viewers(self.viewers.get(pane.task_id or "", []))
        self.set_channels(channels)
        self._title()

    def set_channels(self, channels: list[ChannelStatus]) -> None:
        for channel in channels:
            self.controller.channels[channel.name] = channel
        self.query_one(DeskHeader).set_channels(list(self.controller.channels.values()))
        self.inbox.set_empty_hint(self._empty_hint())
        for pane in self.conversation_panes():
            self._bind_composer(pane)

    def set_me(self, me: str) -> None:
        """The agent this console acts for, known once the desk is open."""
        self.me = me
        self.index.me = me
        for pane in self.query(ConversationPane):
            pane.me = me
        self.query_one(DeskHeader).set_agent(me)
        self.inbox.invalidate()

    def set_presence(self, presence: str, text: str = "") -> None:
        self.query_one(DeskHeader).set_presence(presence, text)

    def set_team(self, summaries: tuple[str, str], roster: str) -> None:
        self.query_one(DeskHeader).set_team(summaries, roster)

    def apply_update(self, update: Update) -> None:
        """Fold a live update in without moving the agent's cursor or focus."""
        if update.tasks:
            self.inbox.apply(update.tasks)
            for task in update.tasks:
                for pane in self.conversation_panes():
                    if pane.task_id == task.id:
                        pane.update_task(task)
                        self._bind_composer(pane)
            self._title()
        touched: set[str] = set()
        for event in update.events:
            touched.add(event.customer_id)
            for pane in self.conversation_panes():
                pane.add_event(event)
        for customer in update.customers:
            self.controller.customers[customer.id] = customer
            touched.add(customer.id)
        shown = self.customer_pane.customer
        if shown is not None and shown.id in touched:
            self._show_customer_of(self.pane())
        if update.channels:
            self.set_channels(update.channels)
        if update.sla:
            self.inbox.set_sla(update.sla)
        if update.waiting:
            self.inbox.set_reasons(update.waiting)
        for task_id, names in update.viewers.items():
            if names:
                self.viewers[task_id] = names
            else:
                self.viewers.pop(task_id, None)
            for pane in self.conversation_panes():
                if pane.task_id == task_id:
                    pane.set_viewers(names)
        for task_id, typing in update.typing.items():
            for pane in self.conversation_panes():
                if pane.task_id == task_id:
                    pane.set_typing(typing)

    # --- which task an action is for -------------------------------------------------

    def target_task(self) -> Task | None:
        """The task in the focused conversation, or the inbox's selected task
        (or the one another screen acts on: the board's watched task)."""
        if self.acting_on is not None:
            return self.acting_on
        if self.active_pane == "inbox-pane" or self.pane().current is None:
            return self.inbox.cursor_task
        return self.pane().current

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in task_actions.NEEDS_TASK and self.target_task() is None:
            return None
        if action == "swap" and not self.split:
            return None
        return True

    def _ensure_open(self, task: Task) -> ConversationPane:
        pane = self.pane()
        if pane.task_id != task.id:
            self.open_task(task.id, focus=False)
        return pane

    # --- actions ----------------------------------------------------------------------

    def action_reply(self) -> None:
        self._start_composer(ComposeMode.REPLY)

    def action_note(self) -> None:
        self._start_composer(ComposeMode.NOTE)

    def _start_composer(self, mode: ComposeMode) -> None:
        task = self.target_task()
        if task is None:
            return
        self._ensure_open(task).composer.start(mode)

    def _submit(self, pane: ConversationPane, task_id: str, mode: ComposeMode, text: str) -> None:
        self.controller.command(lambda: task_actions.send(self, pane, task_id, mode, text))

    @on(Composer.PickCanned)
    def _pick_canned(self, event: Composer.PickCanned) -> None:
        task_actions.pick_canned(self, event.composer)

    @on(Composer.Typing)
    def _typing(self, event: Composer.Typing) -> None:
        # Not in the command queue: it must never wait behind a slow command,
        # nor hold one up; the latest state is all that matters.
        self.run_worker(
            task_actions.show_typing(self, event.task_id, event.typing),
            group="typing",
            exclusive=True,
        )

    def action_pending(self) -> None:
        task_actions.pending(self)

    def action_close_task(self) -> None:
        task = self.target_task()
        if task is None:
            return
        pane_id = self.active_conv if self.pane().task_id == task.id else None
        self.controller.command(lambda: task_actions.close_and_next(self, task, pane_id))

    def action_reopen(self) -> None:
        task = self.target_task()
        if task is not None:
            self.controller.command(lambda: self.controller.set_status(task, Status.OPEN))

    def action_assign(self) -> None:
        task_actions.assign(self)

    def action_take_next(self) -> None:
        async def take() -> None:
            task = await self.controller.call(lambda c: c.request(rq.TakeNext()))
            if task is not None:
                self.notify(f"{task.label} is yours", timeout=3, markup=False)
                self.open_task(task.id)

        self.controller.command(take)

    def action_transfer(self) -> None:
        task_actions.transfer(self)

    def action_tags(self) -> None:
        task_actions.tags(self)

    def action_priority(self) -> None:
        task_actions.priority(self)

    def action_handoff(self) -> None:
        task = self.target_task()
        if task is not None:
            self.run_worker(task_actions.handoff(self, task))

    def action_call_back(self) -> None:
        task = self.target_task()
        if task is None:
            return

        async def call() -> None:
            said = await self.controller.call(lambda c: c.request(rq.CallBack(task_id=task.id)))
            if said is not None:
                self.notify(f"{task.label}: {said}", title="Calling", timeout=8, markup=False)

        # Not queued behind other commands: a call is now or not at all.
        self.run_worker(call(), group="call_back", exclusive=True)

    def action_search(self) -> None:
        task_actions.search(self)

    def action_help(self) -> None:
        self.desk_app.action_help()

    def next_in_queue(self, pane_id: str | None) -> str | None:
        """The task now at the inbox row where ``pane_id``'s task was opened."""
        if not len(self.index):
            return None
        row = self._anchor.get(pane_id or "", self.index.row_of(self.inbox.cursor_id or "") or 0)
        return self.index.id_at(min(row, len(self.index) - 1))

    def keep_drafts(self) -> None:
        """Hand both composers' text to the draft book now (quitting)."""
        for pane in self.conversation_panes():
            pane.composer.keep_draft()

    def show_nothing(self, pane: ConversationPane) -> None:
        pane.show(None, [], "")
        self._bind_composer(pane)
        self.customer_pane.show(None, [], None)
