"""The board's watching of an agent's screen (a part of ``BoardScreen``).

The watched conversation is shown read-only — loading it reads the thread,
which marks nothing read and tells the customer nothing — and follows the
desk live; the lead may reassign it, change its priority, or whisper to its
agent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from textual import work
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agentdesk.api import DeskError
from agentdesk.api import requests as rq
from agentdesk.api.board import Board
from agentdesk.domain import Event, Task

from ..safe_text import safe_line
from ..widgets.conversation import ConversationPane
from . import task_actions
from .prompts import TextPrompt


class AgentWatching(Screen[None]):
    """What the board's watching needs of the board, and does."""

    board: Board | None
    #: The agent whose screen the monitor follows.
    watched: str | None

    @property
    def monitor(self) -> ConversationPane:
        return self.query_one("#board-monitor", ConversationPane)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The table takes enter for itself: selecting an agent's row is "watch".
        if event.data_table.id == "board-agents":
            self.action_monitor()

    def action_monitor(self) -> None:
        """Watch the highlighted agent's screen (escape goes back to the board
        when it is too narrow for both)."""
        table = self.query_one("#board-agents", DataTable)
        if not table.row_count:
            return
        self.watched = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.monitor.border_title = f"watching {safe_line(self.watched, 24)} · read-only"
        self.add_class("-monitoring")
        self.monitor.current = None  # load it even if the task is the one shown
        self._follow(self.watched)

    def _follow(self, agent: str) -> None:
        load = next((a for a in (self.board.agents if self.board else []) if a.name == agent), None)
        task_id = load.focus_task if load else None
        if task_id is None:
            self.monitor.show(None, [], "")
            self.monitor.query_one(".pane-title", Static).update(
                f"{safe_line(agent, 24)} has no conversation on screen."
            )
        elif self.monitor.task_id != task_id:
            self._watch(agent, task_id)

    @work(exclusive=True, group="board-monitor")
    async def _watch(self, agent: str, task_id: str) -> None:
        client = self.app.client  # type: ignore[attr-defined]
        try:
            task = await client.get_task(task_id)
            events = await client.thread(task_id) if task is not None else []
        except DeskError as exc:
            self.notify(safe_line(f"Cannot watch: {exc}", 200), severity="warning", markup=False)
            return
        name = task.customer_name if task is not None and task.customer_name else "customer"
        self.monitor.show(task, events, name)
        main = self.app.main  # type: ignore[attr-defined]
        self.monitor.me = client.me
        self.monitor.set_viewers(main.viewers.get(task_id, []))
        # The lead has it on screen too: the agent sees who watches.
        with contextlib.suppress(DeskError):
            await client.request(rq.Focus(task_id=task_id))

    def action_leave(self) -> None:
        """Back to the main screen, whose conversation is on screen again."""
        self.app.pop_screen()
        main = self.app.main  # type: ignore[attr-defined]
        main._focus_said = "-"  # said again, even if it is the one said before
        main.report_focus()

    def desk_events(
        self, events: list[Event], tasks: list[Task], viewers: dict[str, list[str]]
    ) -> None:
        """Live: what happens on the watched conversation shows at once."""
        for task in tasks:
            self.monitor.update_task(task)
        for event in events:
            self.monitor.add_event(event)
        watched = self.monitor.task_id
        if watched is not None and watched in viewers:
            self.monitor.set_viewers(viewers[watched])

    def _watched_task(self) -> Task | None:
        task = self.monitor.current
        if task is None:
            self.notify("Watch an agent's conversation first (enter).", markup=False, timeout=3)
        return task

    def action_reassign(self) -> None:
        task = self._watched_task()
        if task is not None:
            self._act(task, task_actions.assign)

    def action_priority(self) -> None:
        task = self._watched_task()
        if task is not None:
            self._act(task, task_actions.priority)

    def action_whisper(self) -> None:
        task = self._watched_task()
        if task is None:
            return
        if task.assignee is None:
            self.notify(f"{task.label} has nobody to whisper to.", markup=False, timeout=3)
            return

        def done(text: str | None) -> None:
            if text and text.strip():
                self._whisper(task.id, text.strip())

        self.app.push_screen(
            TextPrompt(
                f"Whisper to {task.assignee} on {task.label}",
                hint="only they and the leads see it; never the customer",
            ),
            done,
        )

    @work(group="board-whisper")
    async def _whisper(self, task_id: str, text: str) -> None:
        client = self.app.client  # type: ignore[attr-defined]
        try:
            await client.request(rq.AddNote(task_id=task_id, text=text, whisper=True))
        except DeskError as exc:
            self.notify(safe_line(f"Not whispered: {exc}", 200), severity="error", markup=False)

    def _act(self, task: Task, action: Callable[..., None]) -> None:
        """Run one of the main screen's task actions on the watched task."""
        main = self.app.main  # type: ignore[attr-defined]
        main.acting_on = task
        try:
            action(main)
        finally:
            main.acting_on = None
