"""The lead's board: each channel's flow today and each agent's load and time.

The desk computes the figures (``board`` request, the report's fold); this
screen asks again whenever the desk publishes a change, at most once a
second, and ages the waiting times by the clock in between.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.widgets import DataTable, Footer, Label, Sparkline, Static

from agentdesk.api import DeskError
from agentdesk.api import requests as rq
from agentdesk.api.board import AgentLoad, Board, ChannelFlow

from ..labels import channel_badge, format_wait
from ..safe_text import safe_line
from ..widgets.conversation import ConversationPane
from .board_watch import AgentWatching

#: At most one board asked for in this many seconds, however busy the desk.
REFRESH_SECONDS = 1.0
#: Narrower than this, the board and the watched conversation take turns.
NARROW = 120


def short(seconds: float | None) -> str:
    """A duration as the inbox shows waits (``format_wait``); ``-`` for none."""
    return "-" if seconds is None else format_wait(seconds)


def load_text(agent: AgentLoad) -> str:
    """``2/3 chat · 4/10 email``: open tasks over room, per channel kind."""
    kinds = sorted({*agent.load, *agent.capacity})
    return (
        " · ".join(f"{agent.load.get(k, 0)}/{agent.capacity.get(k, '-')} {k}" for k in kinds) or "-"
    )


def time_text(agent: AgentLoad) -> str:
    """Focus over engaged per channel: ``chat 20m/30m · email 40m/30m``."""
    kinds = sorted({*agent.focus, *agent.engaged})
    return (
        " · ".join(
            f"{k} {short(agent.focus.get(k, 0))}/{short(agent.engaged.get(k, 0))}" for k in kinds
        )
        or "-"
    )


class BoardScreen(AgentWatching):
    BINDINGS = [
        Binding("escape", "back", "Back", id="board.close"),
        Binding("L", "leave", "Back", show=False, id="board.toggle"),
        Binding("r", "refresh_board", "Refresh", id="board.refresh"),
        Binding(
            "enter", "monitor", "Watch", id="board.monitor", tooltip="Watch the agent's screen"
        ),
        Binding("a", "reassign", "Reassign", id="board.reassign"),
        Binding("p", "priority", "Priority", id="board.priority"),
        Binding(
            "w",
            "whisper",
            "Whisper",
            id="board.whisper",
            tooltip="A note for the watched conversation's agent alone (and the leads)",
        ),
    ]

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(id="board")
        self.clock = clock
        self.board: Board | None = None
        self._asked_at = 0.0
        self._again = False
        #: The agent whose screen the monitor follows.
        self.watched: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="board-split"):
            with Vertical(id="board-body"):
                yield Static("Team board: loading…", id="board-title")
                yield DataTable(id="board-channels", cursor_type="row", zebra_stripes=True)
                yield VerticalScroll(id="board-queues")
                yield DataTable(id="board-agents", cursor_type="row", zebra_stripes=True)
            # Read-only: the composer is hidden and nothing here marks a task read.
            yield ConversationPane(
                me="",
                canned={},
                fields=lambda pane: {},
                submit=lambda *args: None,
                clock=self.clock,
                id="board-monitor",
            )
        yield Footer()

    def on_resize(self, event: Resize) -> None:
        # Under 120 columns one pane at a time: the board, or what is watched.
        self.set_class(event.size.width < NARROW, "-narrow")

    def action_back(self) -> None:
        if self.has_class("-narrow") and self.has_class("-monitoring"):
            self.remove_class("-monitoring")
        else:
            self.action_leave()

    def on_mount(self) -> None:
        self.monitor.query_one(".pane-title", Static).update(
            "Select an agent and press enter to watch their screen."
        )
        channels = self.query_one("#board-channels", DataTable)
        channels.add_columns(
            "channel",
            "waiting",
            "longest",
            "in",
            "handled",
            "1st resp p50/p90",
            "late/near",
            "agents",
        )
        agents = self.query_one("#board-agents", DataTable)
        agents.add_columns("agent", "", "load", "online", "focus/engaged today", "on screen")
        self.action_refresh_board()
        self.set_interval(1.0, self._tick)

    # -- asking the desk ------------------------------------------------------------

    def desk_changed(self) -> None:
        """The desk published a change: ask again, at most once a second."""
        if self.clock() - self._asked_at >= REFRESH_SECONDS:
            self.action_refresh_board()
        else:
            self._again = True

    def _tick(self) -> None:
        if self._again and self.clock() - self._asked_at >= REFRESH_SECONDS:
            self.action_refresh_board()
        elif self.board is not None:
            self._show_channels(self.board)  # the waits grow with the clock

    def action_refresh_board(self) -> None:
        self._asked_at, self._again = self.clock(), False
        self._fetch()

    @work(exclusive=True, group="board")
    async def _fetch(self) -> None:
        client = self.app.client  # type: ignore[attr-defined]
        if client is None:
            return
        try:
            board = await client.request(rq.GetBoard())
        except DeskError as exc:
            self.query_one("#board-title", Static).update(safe_line(f"Team board: {exc}", 200))
            return
        self.show(board)

    # -- showing ---------------------------------------------------------------------

    def show(self, board: Board) -> None:
        self.board = board
        busy = sum(flow.waiting for flow in board.channels)
        online = sum(1 for a in board.agents if a.presence == "online")
        self.query_one("#board-title", Static).update(
            f"Team board today: {busy} waiting · {online} of {len(board.agents)} agents online"
        )
        self._show_channels(board)
        self._show_queues(board.channels)
        self._show_agents(board.agents)
        if self.watched is not None:
            self._follow(self.watched)

    def _show_channels(self, board: Board) -> None:
        table = self.query_one("#board-channels", DataTable)
        aged = max(0.0, self.clock() - board.at)
        with self._kept_cursor(table):
            table.clear()
            for flow in board.channels:
                longest = None if flow.longest_wait is None else flow.longest_wait + aged
                table.add_row(
                    f"{channel_badge(flow.channel).strip()} {safe_line(flow.channel, 20)}",
                    str(flow.waiting),
                    short(longest),
                    str(flow.received),
                    str(flow.handled),
                    f"{short(flow.first_response_p50)}/{short(flow.first_response_p90)}",
                    _late(flow),
                    f"{flow.available}/{flow.online}",
                    key=flow.channel,
                )

    def _show_queues(self, channels: list[ChannelFlow]) -> None:
        box = self.query_one("#board-queues", VerticalScroll)
        rows = {row.id: row for row in box.query(Horizontal)}
        wanted = {f"queue-{flow.channel}" for flow in channels}
        for name, row in rows.items():
            if name not in wanted:
                row.remove()
        for flow in channels:
            name = f"queue-{flow.channel}"
            if name in rows:
                rows[name].query_one(Sparkline).data = list(flow.queue)
                rows[name].query_one(Label).update(_queue_label(flow))
            else:
                box.mount(
                    Horizontal(
                        Label(_queue_label(flow), classes="queue-label"),
                        Sparkline(list(flow.queue), summary_function=max),
                        id=name,
                        classes="queue-row",
                    )
                )

    def _show_agents(self, agents: list[AgentLoad]) -> None:
        table = self.query_one("#board-agents", DataTable)
        with self._kept_cursor(table):
            table.clear()
            for agent in agents:
                table.add_row(
                    safe_line(agent.name, 24),
                    {"online": "●", "away": "◐"}.get(agent.presence, "○"),
                    load_text(agent),
                    short(agent.online),
                    time_text(agent),
                    self._task_label(agent.focus_task),
                    key=agent.name,
                )

    def _task_label(self, task_id: str | None) -> str:
        if task_id is None:
            return "-"
        main = getattr(self.app, "main", None)
        task = main.index.get(task_id) if main is not None else None
        if task is None:
            return "a task not open"
        return safe_line(f"{task.label} {task.subject or task.preview}", 40)

    @contextlib.contextmanager
    def _kept_cursor(self, table: DataTable):  # type: ignore[type-arg]
        row = table.cursor_row
        yield
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))


def _late(flow: ChannelFlow) -> Text:
    """Tasks past their target (red) over those near it (amber)."""
    text = Text()
    text.append(str(flow.breached), style="bold red" if flow.breached else "")
    text.append("/")
    text.append(str(flow.near_breach), style="yellow" if flow.near_breach else "")
    return text


def _queue_label(flow: ChannelFlow) -> str:
    return f"{safe_line(flow.channel, 12):<12} queue, last hour (max {max(flow.queue, default=0)})"
