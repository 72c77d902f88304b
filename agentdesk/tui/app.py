"""The agent console: a Textual app over a desk client.

The app opens the desk through its connector once the event loop runs, loads a
snapshot, then follows the desk's update stream in a worker. Agent actions go
back to the desk client; the console never touches a store or a plugin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from agentdesk.core.client import ChannelStatus, DeskClient, DeskConnector, Update
from agentdesk.plugin import HealthState

from .canned import normalize_canned
from .keymap import KeyGroup, bindings_of, check_keymap, known_ids
from .notices import NoticeGate
from .palette import DeskCommands
from .safe_text import safe_line
from .screens.handoff import HandoffScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .screens.prompts import ChoicePrompt
from .screens.search import SearchResults, SearchScreen
from .themes import DEFAULT_THEMES_DIR, load_themes
from .widgets.composer import ComposerArea
from .widgets.conversation import Thread
from .widgets.customer_pane import Timeline
from .widgets.inbox import InboxList

FALLBACK_THEME = "textual-dark"
#: Waits between attempts to reach a desk that went away (seconds, capped).
RECONNECT_DELAYS = (1, 2, 5, 10, 30)
# Rows below which at most one toast shows at a time.
SHORT_TERMINAL = 30


class AgentDeskApp(App[None]):
    """The keyboard-driven agent console."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="palette"),
    ]

    def __init__(
        self,
        connector: DeskConnector,
        *,
        keymap: dict[str, str] | None = None,
        theme: str = "agentdesk-dark",
        canned: dict[str, str] | None = None,
        themes_dir: Path | None = None,
        title: str = "agentdesk",
        clock: Callable[[], float] = time.time,
        waiting_warn: float = 15 * 60,
        waiting_error: float = 60 * 60,
        search_delay: float = 0.25,
        agents: list[str] | None = None,
        teams: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.connector = connector
        self.client: DeskClient | None = None
        self.clock = clock
        self.canned = normalize_canned(canned)
        self.search_delay = search_delay
        self.waiting = (waiting_warn, waiting_error)
        self.title = title
        self.problems: list[str] = []
        self._desk_closed = False
        self._channel_states: dict[str, HealthState] = {}
        self.notice_gate = NoticeGate()
        self.reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS
        self.agents = list(agents or [])
        self.teams = list(teams or [])
        loaded = load_themes(themes_dir if themes_dir is not None else DEFAULT_THEMES_DIR)
        self.problems.extend(loaded.problems)
        for found in loaded.themes:
            self.register_theme(found)
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.problems.append(f"theme {theme!r} not found; using {FALLBACK_THEME}")
            self.theme = FALLBACK_THEME
        usable, problems = check_keymap(keymap, known_ids(self.key_groups()))
        self.problems.extend(problems)
        self.keymap = usable
        if usable:
            self.set_keymap(usable)

    # --- keys, for help and the palette ----------------------------------------------

    def key_groups(self) -> list[KeyGroup]:
        """Every binding of the console, grouped as the help screen shows them."""
        return [
            KeyGroup("Tasks", bindings_of(MainScreen.BINDINGS)),
            KeyGroup("Inbox", bindings_of(InboxList.BINDINGS)),
            KeyGroup("Conversation", bindings_of(Thread.BINDINGS)),
            KeyGroup("Customer timeline", bindings_of(Timeline.BINDINGS)),
            KeyGroup("Composer", bindings_of(ComposerArea.BINDINGS)),
            KeyGroup("Search", bindings_of(SearchScreen.BINDINGS + SearchResults.BINDINGS)),
            KeyGroup("Handoff", bindings_of(HandoffScreen.BINDINGS)),
            KeyGroup("Dialogs", bindings_of(ChoicePrompt.BINDINGS + HelpScreen.BINDINGS)),
            KeyGroup("Console", bindings_of(self.BINDINGS)),
        ]

    def palette_bindings(self, screen: Screen) -> Iterable[tuple[DOMNode, tuple[Binding, ...]]]:
        """(node to run the action on, its bindings) for the command palette."""
        if isinstance(screen, MainScreen):
            yield screen, bindings_of(MainScreen.BINDINGS)
            yield screen.inbox, bindings_of(InboxList.BINDINGS)
        yield self, bindings_of(self.BINDINGS)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_groups(), self.keymap))

    # --- life cycle ---------------------------------------------------------------------

    @property
    def main(self) -> MainScreen:
        return self.get_screen("main")  # type: ignore[return-value]

    async def on_mount(self) -> None:
        self.install_screen(
            MainScreen(
                me="",
                title=self.title,
                canned=self.canned,
                clock=self.clock,
                waiting_warn=self.waiting[0],
                waiting_error=self.waiting[1],
            ),
            "main",
        )
        await self.push_screen("main")
        for problem in self.problems:
            self.notify(
                safe_line(problem, 300),
                markup=False,
                title="Configuration",
                severity="warning",
                timeout=8,
            )
        self.connect()

    @work(exclusive=True, group="desk")
    async def connect(self) -> None:
        """Open the desk, load a snapshot, then follow updates until the app quits."""
        main = self.main
        main.set_presence("connecting")
        try:
            self.client = await self.connector.open()
        except Exception as exc:  # the connector's error is for the agent to read
            main.set_presence("offline")
            self.notify(
                safe_line(f"Cannot open the desk: {exc}", 300),
                markup=False,
                severity="error",
                timeout=30,
            )
            return
        main.set_me(self.client.me)
        attempt = 0
        while not self._desk_closed:
            try:
                seq = await self._load_snapshot()
                main.set_presence("online")
                attempt = 0
                reset = False
                async for update in self.client.subscribe(seq):
                    if update.reset:
                        reset = True  # fell behind: reload, then follow again
                        break
                    self.apply_update(update)
                if reset:
                    continue
                if self._desk_closed:
                    return
                # The stream ended without being asked to: wait, then reconnect.
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a hub that went away: say so and retry
                main.set_presence("offline")
                self.notify(
                    safe_line(f"Lost the desk: {exc}", 300),
                    markup=False,
                    severity="error",
                    timeout=10,
                )
            delays = self.reconnect_delays
            delay = delays[min(attempt, len(delays) - 1)]
            attempt += 1
            main.set_presence("offline")
            await asyncio.sleep(delay)

    async def _load_snapshot(self) -> int:
        assert self.client is not None
        snapshot = await self.client.snapshot()
        self._note_channels(snapshot.channels, quiet=True)
        self.main.load_snapshot(snapshot.tasks, snapshot.channels)
        return snapshot.seq

    def apply_update(self, update: Update) -> None:
        # A short terminal has room for one toast beside the conversation.
        self.notice_gate.burst = 1 if self.size.height < SHORT_TERMINAL else 3
        for notice in self.notice_gate.offer(update.notices):
            self.notify(safe_line(notice, 300), markup=False, title="Desk", timeout=4)
        if update.channels:
            self._note_channels(update.channels, quiet=False)
        self.main.apply_update(update)

    def _note_channels(self, channels: list[ChannelStatus], *, quiet: bool) -> None:
        """Toast a channel going down, and coming back."""
        for channel in channels:
            before = self._channel_states.get(channel.name)
            self._channel_states[channel.name] = channel.state
            if quiet or before == channel.state:
                continue
            if channel.state == HealthState.DOWN:
                why = channel.detail or channel.last_error or "no detail"
                self.notify(
                    safe_line(
                        f"Channel {channel.name} is down: {why}. Replies wait in the outbox.", 300
                    ),
                    markup=False,
                    title="Channel down",
                    severity="error",
                    timeout=10,
                )
            elif channel.state == HealthState.UP and before in (
                HealthState.DOWN,
                HealthState.DEGRADED,
            ):
                self.notify(
                    safe_line(f"Channel {channel.name} is back up.", 300),
                    markup=False,
                    title="Channel up",
                )

    async def close_desk(self) -> None:
        """Stop following the desk and close the connector (once)."""
        if self._desk_closed:
            return
        self._desk_closed = True
        self.workers.cancel_group(self, "desk")
        try:
            await self.connector.close()
        except Exception as exc:  # closing must not stop the console from quitting
            self.log.error(f"closing the desk failed: {exc}")

    async def action_quit(self) -> None:
        await self.close_desk()
        self.exit()

    async def on_unmount(self) -> None:
        await self.close_desk()
