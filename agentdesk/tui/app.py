"""The agent console: a Textual app over a desk client.

The app opens the desk through its connector once the event loop runs, loads a
snapshot, then follows the desk's update stream in a worker. Agent actions go
back to the desk client; the console never touches a store or a plugin.

Its own small documents (drafts, preferences, recent searches) it keeps in a
file on the agent's machine (``local_docs``), read once the desk says who the
agent is and written in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import events, on, work
from textual._time import get_time  # the clock Textual stamps events with
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer

from agentdesk.api import ChannelStatus, DeskClient, DeskConnector, DeskError, Snapshot, Update
from agentdesk.api import requests as rq
from agentdesk.api.agents import AgentInfo, Presence
from agentdesk.api.link import LinkedClient
from agentdesk.plugin import HealthState

from .canned import normalize_canned
from .inbox_index import InboxView, Scope, SortOrder, StatusFilter
from .keymap import KeyGroup, bindings_of, check_keymap, known_ids
from .link_view import LinkView
from .local_docs import (
    AgentDocuments,
    ConsoleDocuments,
    DocumentKeeper,
    Preferences,
    default_documents_path,
)
from .notices import NoticeGate
from .palette import DeskCommands
from .presence import IDLE_AWAY_SECONDS, PresenceKeeper
from .safe_text import safe_line
from .screens.board import BoardScreen
from .screens.handoff import HandoffScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .screens.navigation import LayoutChosen
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
#: Seconds a new choice (view, theme) waits before it is written: a run of
#: keys (f f f) is one write.
PREFERENCES_SAVE_DELAY = 1.0


#: A key this old when the console gets to it was typed while the console was frozen.
STALE_KEY_SECONDS = 2.0


class AgentDeskApp(App[None]):
    """The keyboard-driven agent console."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding(
            "A",
            "toggle_away",
            "Away / back",
            show=False,
            id="presence.away",
            tooltip="Tell the team you are away, or back",
        ),
        Binding(
            "L",
            "board",
            "Team board",
            show=False,
            id="board",
            tooltip="Each channel's flow today and each agent's load (leads)",
        ),
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
        docs: ConsoleDocuments | Path | None = None,
        greeting: str = "",
        idle_away: float = IDLE_AWAY_SECONDS,
        problems: list[str] | None = None,
        lead: bool = False,
    ) -> None:
        """``docs``: the console's documents, or the file to keep them in (default:
        ``console.json`` in the user state directory); ``greeting``: a word shown
        once the console opens (how others join the team demo); ``idle_away``:
        seconds without a key before the agent shows as away (0: never);
        ``problems``: what the caller found wrong, shown once the console opens;
        ``lead``: open on the team board."""
        super().__init__()
        self.lead = lead
        self.connector = connector
        self.client: DeskClient | None = None
        #: Why the desk could not be opened, if it could not: the console then
        #: ends with status 1 and the reason on standard error.
        self.open_error: str | None = None
        self._stale_noticed = 0.0
        self.clock = clock
        self.canned = normalize_canned(canned)
        self.search_delay = search_delay
        self.waiting = (waiting_warn, waiting_error)
        self.title = title
        self.problems: list[str] = list(problems or [])
        self.greeting = greeting
        self._desk_closed = False
        self._channel_states: dict[str, HealthState] = {}
        self.notice_gate = NoticeGate()
        self.reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS
        #: A hub's link, once the client says it has one (team mode).
        self.link_view: LinkView | None = None
        self.presence = PresenceKeeper(idle_after=idle_away)
        self.agents = list(agents or [])
        self.teams = list(teams or [])
        self.keeper = DocumentKeeper(
            docs if docs is not None else default_documents_path(),
            clock=clock,
            on_problem=self._documents_problem_from_thread,
        )
        self._docs_loop: asyncio.AbstractEventLoop | None = None
        # What the agent chose last time, applied with the first snapshot.
        self._to_restore: Preferences | None = None
        self._preferences_timer: Timer | None = None
        self._pending_preferences: Preferences | None = None
        loaded = load_themes(themes_dir if themes_dir is not None else DEFAULT_THEMES_DIR)
        self.problems.extend(loaded.problems)
        for found in loaded.themes:
            self.register_theme(found)
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.problems.append(f"theme {theme!r} not found; using {FALLBACK_THEME}")
            self.theme = FALLBACK_THEME
        #: The theme the console itself set (configuration, restored choice): a
        #: change to any other is the agent's choice.
        self._console_theme = self.theme
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
            KeyGroup("Team board", bindings_of(BoardScreen.BINDINGS)),
            KeyGroup("Dialogs", bindings_of(ChoicePrompt.BINDINGS + HelpScreen.BINDINGS)),
            KeyGroup("Console", bindings_of(self.BINDINGS)),
        ]

    def palette_bindings(self, screen: Screen) -> Iterable[tuple[DOMNode, tuple[Binding, ...]]]:
        """(node to run the action on, its bindings) for the command palette."""
        if isinstance(screen, MainScreen):
            yield screen, bindings_of(MainScreen.BINDINGS)
            yield screen.inbox, bindings_of(InboxList.BINDINGS)
        yield self, bindings_of(self.BINDINGS)

    def action_board(self) -> None:
        if not isinstance(self.screen, BoardScreen):
            self.push_screen(BoardScreen(self.clock))

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
                drafts=self.keeper.drafts,
            ),
            "main",
        )
        self._docs_loop = asyncio.get_running_loop()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        await self.push_screen("main")
        for problem in self.problems:
            self.notify(
                safe_line(problem, 300),
                markup=False,
                title="Configuration",
                severity="warning",
                timeout=8,
            )
        if self.greeting:
            self.notify(self.greeting, markup=False, title="Welcome", timeout=30)
        self.connect()

    @work(exclusive=True, group="desk")
    async def connect(self) -> None:
        """Open the desk, load a snapshot, then follow updates until the app quits."""
        main = self.main
        main.set_presence("connecting")
        try:
            self.client = await self.connector.open()
        except Exception as exc:  # the connector's error is for the agent to read
            self.open_error = str(exc) or type(exc).__name__
            main.set_presence("offline")
            self.notify(
                safe_line(f"Cannot open the desk: {exc}", 300),
                markup=False,
                severity="error",
                timeout=30,
            )
            return
        if isinstance(self.client, LinkedClient):
            self.link_view = LinkView(
                main.set_presence, self.notify, self.clock, back=main.reload_unloaded
            )
            self.client.watch_link(self.link_view.changed)
            self.set_interval(1.0, self.link_view.tick)
        main.set_me(self.client.me)
        self.presence.me, self.presence.last_key = self.client.me, self.clock()
        self.set_interval(30.0, self._idle_check)
        # A hub said it already; an embedded desk learns it here.
        self._say_presence(Presence.ONLINE)
        await self._load_documents(self.client.me)
        await self._load_agents()
        attempt = 0
        while not self._desk_closed:
            try:
                seq = await self._load_snapshot()
                self._presence("online")
                if self.lead:  # once, on the first snapshot: the lead starts on the board
                    self.lead = False
                    self.action_board()
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
                self._presence("offline")
                if self.link_view is None:  # a hub's link says it in the header
                    self.notify(
                        safe_line(f"Lost the desk: {exc}", 300),
                        markup=False,
                        severity="error",
                        timeout=10,
                    )
            delays = self.reconnect_delays
            delay = delays[min(attempt, len(delays) - 1)]
            attempt += 1
            self._presence("offline")
            await asyncio.sleep(delay)

    def _presence(self, presence: str) -> None:
        """The desk's reachability, unless a hub's link tells it better."""
        if self.link_view is None:
            self.main.set_presence(presence)

    async def _load_agents(self) -> None:
        """The desk's agents and their teams, offered when assigning or transferring."""
        assert self.client is not None
        try:
            listed = await self.client.request(rq.ListAgents())
        except DeskError:
            return  # the names the config gives and the inbox shows still serve
        working = [agent for agent in listed if not agent.revoked]
        self.agents = sorted({*self.agents, *(agent.name for agent in working)})
        self.teams = sorted({*self.teams, *(team for agent in working for team in agent.teams)})
        self._team_changed(listed)

    # --- presence -------------------------------------------------------------------------

    def _team_changed(self, agents: list[AgentInfo]) -> None:
        self.presence.agents_changed(agents)
        self._show_team()

    def _show_team(self) -> None:
        summaries = (self.presence.summary(), self.presence.summary(compact=True))
        self.main.set_team(summaries, self.presence.roster())

    def _idle_check(self) -> None:
        said = self.presence.tick(self.clock())
        if said is not None:
            self._say_presence(said)

    def action_toggle_away(self) -> None:
        said = self.presence.toggle()
        self._say_presence(said)
        word = "away" if said == Presence.AWAY else "back"
        self.notify(f"You are {word}: the team sees it.", timeout=3, markup=False)

    @work(exclusive=True, group="presence")
    async def _say_presence(self, presence: Presence) -> None:
        self._show_team()
        if self.client is None:
            return
        with contextlib.suppress(DeskError):  # said again at the next change
            await self.client.request(rq.SetPresence(presence=presence))

    async def _load_snapshot(self) -> int:
        assert self.client is not None
        snapshot = await self.client.snapshot()
        self._note_channels(snapshot.channels, quiet=True)
        if self._to_restore is not None:
            # Before the inbox is filled: a big snapshot is sorted once, in the view kept.
            self._restore(self._to_restore, snapshot)
            self._to_restore = None
        self.main.load_snapshot(
            snapshot.tasks, snapshot.channels, snapshot.sla, snapshot.viewers, snapshot.waiting
        )
        return snapshot.seq

    # --- the console's own documents ---------------------------------------------------

    async def _load_documents(self, agent: str) -> None:
        """Read the agent's drafts, preferences and searches (off the event loop)."""
        try:
            loaded, warnings = await asyncio.to_thread(self.keeper.load, agent)
        except Exception as exc:  # whatever the file holds, the console starts
            loaded, warnings = AgentDocuments(), [f"console documents not read: {exc}"]
        self.keeper.adopt(agent, loaded)
        self._to_restore = loaded.preferences
        for warning in warnings:
            self._documents_problem(warning)

    def _restore(self, kept: Preferences, snapshot: Snapshot) -> None:
        """Apply what the agent chose last time, where it still makes sense."""
        if kept.theme and kept.theme in self.available_themes:
            self._console_theme = kept.theme
            self.theme = kept.theme
        view = InboxView()
        for name, kind in (("scope", Scope), ("status", StatusFilter), ("sort", SortOrder)):
            value = getattr(kept, name)
            with contextlib.suppress(ValueError):
                view = view.with_(**{name: kind(value)}) if value else view
        if kept.channel and any(c.name == kept.channel for c in snapshot.channels):
            view = view.with_(channel=kept.channel)
        if view != self.main.index.view:
            self.main.set_view(view, chosen=False)
        if kept.split and not self.main.split:
            self.main.show_split(True)

    @on(LayoutChosen)
    def _layout_chosen(self, event: LayoutChosen) -> None:
        view = event.view
        self._choose(
            scope=view.scope.value,
            status=view.status.value,
            sort=view.sort.value,
            channel=view.channel,
            split=event.split,
        )

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self._console_theme:
            self._console_theme = theme.name
            self._choose(theme=theme.name)

    def _choose(self, **changes: object) -> None:
        """Keep the agent's latest choice, written after a short pause."""
        base = self._pending_preferences or self.keeper.preferences
        self._pending_preferences = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
        if self._preferences_timer is not None:
            self._preferences_timer.stop()
        self._preferences_timer = self.set_timer(PREFERENCES_SAVE_DELAY, self._save_preferences)

    def _save_preferences(self) -> None:
        if self._preferences_timer is not None:
            self._preferences_timer.stop()
            self._preferences_timer = None
        if self._pending_preferences is not None:
            self.keeper.save_preferences(self._pending_preferences)
            self._pending_preferences = None

    def _keep_documents(self) -> None:
        """Everything typed or chosen so far goes to the writer (quitting)."""
        with contextlib.suppress(KeyError, NoMatches):  # quitting before the screen was up
            self.main.keep_drafts()
        self._save_preferences()

    def _documents_problem(self, problem: str) -> None:
        self.notify(
            safe_line(problem, 300),
            markup=False,
            title="Console documents",
            severity="warning",
            timeout=10,
        )

    def _documents_problem_from_thread(self, problem: str) -> None:
        # From the writer thread, without waiting on the loop (which may be
        # waiting on the writer while the console quits).
        loop = self._docs_loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._documents_problem, problem)

    def apply_update(self, update: Update) -> None:
        # A short terminal has room for one toast beside the conversation.
        self.notice_gate.burst = 1 if self.size.height < SHORT_TERMINAL else 3
        for notice in self.notice_gate.offer(update.notices):
            self.notify(safe_line(notice, 300), markup=False, title="Desk", timeout=4)
        if update.channels:
            self._note_channels(update.channels, quiet=False)
        if update.agents:
            self._team_changed(update.agents)
        self.main.apply_update(update)
        if isinstance(self.screen, BoardScreen):
            self.screen.desk_events(list(update.events), list(update.tasks), update.viewers)
            if update.changes_data or update.agents:
                self.screen.desk_changed()

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

    async def on_event(self, event: events.Event) -> None:
        # Keys typed while the event loop was frozen (a plugin blocking it) all
        # arrive at once when it thaws: run, they would act as commands the
        # agent never meant ("t" of a sentence opening the transfer dialog).
        if isinstance(event, events.Key) and get_time() - event.time > STALE_KEY_SECONDS:
            event.stop()
            event.prevent_default()
            if get_time() - self._stale_noticed > STALE_KEY_SECONDS:
                self._stale_noticed = get_time()
                self.notify(
                    "The console was frozen for a moment: the keys typed meanwhile were"
                    " dropped, not run.",
                    severity="warning",
                    markup=False,
                )
            return
        if isinstance(event, events.Key):
            back = self.presence.key_pressed(self.clock())
            if back is not None:
                self._say_presence(back)
        await super().on_event(event)

    async def action_quit(self) -> None:
        self._keep_documents()
        await self.close_desk()
        await asyncio.to_thread(self.keeper.flush)
        self.exit(return_code=1 if self.open_error is not None else 0)

    async def on_unmount(self) -> None:
        # The screens are gone by now (drafts were kept by action_quit, or by the
        # pause after typing); a choice still waiting for its timer is saved here.
        self._save_preferences()
        await self.close_desk()
        await asyncio.to_thread(self.keeper.close)
