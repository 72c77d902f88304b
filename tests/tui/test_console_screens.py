"""Search, help, palette, keymap, themes, canned responses, limits and layout."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from agentdesk.api import Role
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import Message
from agentdesk.tui import AgentDeskApp
from agentdesk.tui.screens.help import HelpScreen
from agentdesk.tui.screens.prompts import TransferPrompt
from agentdesk.tui.screens.search import SearchScreen
from agentdesk.tui.widgets.composer import ComposerArea
from agentdesk.tui.widgets.key_bar import KeyBar

from .conftest import LocalConnector, ServedConnector, notices, ready, screen_text, seed, until


class GatedClient(LocalDeskClient):
    """Searches wait for the test to open the gate; cancelled ones are counted."""

    def __init__(self, desk, me):
        super().__init__(desk, me)
        self.gate = asyncio.Event()
        self.started: list[str] = []
        self.cancelled: list[str] = []

    async def search(self, query, *, limit=50, offset=0):
        self.started.append(query)
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled.append(query)
            raise
        return await super().search(query, limit=limit, offset=offset)


class GatedConnector(LocalConnector):
    async def open(self):
        self.client = GatedClient(self.desk, self.me)
        return self.client


async def test_search_as_you_type_and_open_a_result(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert screen.query_one("#syntax").display  # empty query: the syntax shows
        await pilot.press(*"VAT")
        await until(pilot, lambda: screen._task_ids == [tasks[1].id])
        assert "1 result" in screen.query_one("#search-status").render().plain
        await pilot.press("enter")
        await until(
            pilot, lambda: app.screen is app.main and app.main.pane().task_id == tasks[1].id
        )


async def test_search_reports_syntax_errors_without_asking_the_desk(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"is:nope")
        screen = app.screen
        status = screen.query_one("#search-status")
        await until(pilot, lambda: "⚠" in status.render().plain)
        assert "is:nope" in status.render().plain
        assert "is:nope" not in screen.sent
        await pilot.press("escape")
        assert app.screen is app.main


async def test_stale_searches_are_cancelled(console_desk, clock):
    from agentdesk.tui import AgentDeskApp

    tasks = await seed(console_desk, clock)
    connector = GatedConnector(console_desk, "ana")
    app = AgentDeskApp(connector, clock=clock, search_delay=0)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("slash", "s", "u")
        await until(pilot, lambda: connector.client.started[-1:] == ["su"])
        assert connector.client.cancelled == ["s"]  # the first search was still waiting
        await pilot.press(*"nday")
        await until(pilot, lambda: connector.client.started[-1:] == ["sunday"])
        assert connector.client.cancelled == ["s", "su", "sun", "sund", "sunda"]
        connector.client.gate.set()
        await until(pilot, lambda: app.screen._task_ids == [tasks[2].id])  # "Sunday"


async def test_typing_is_debounced(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app(search_delay=3600)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"ref")
        await pilot.pause()
        assert app.screen.sent == []  # nobody stopped typing long enough


async def test_help_is_generated_from_the_bindings_and_the_keymap(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app(keymap={"reply": "R", "no.such.binding": "z"})
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        assert any("no.such.binding" in str(n.message) for n in app._notifications)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.screen.table())
        text = console.export_text()
        for words in ("Reply", "Handoff", "Search", "Split view", "Send", "Syntax"):
            assert words in text
        assert text.split("Reply")[0].splitlines()[-1].strip() == "R"
        await pilot.press("escape")
        await pilot.press("r")
        assert not isinstance(app.focused, ComposerArea)  # r is no longer reply
        await pilot.press("R")
        assert isinstance(app.focused, ComposerArea)


async def test_palette_lists_actions_with_their_keys_and_runs_them(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p", *"transfer")
        await until(pilot, lambda: "key: t" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TransferPrompt))


async def test_themes_from_files_config_and_palette(make_app, console_desk, clock, tmp_path):
    await seed(console_desk, clock)
    app = make_app(theme="agentdesk-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.theme == "agentdesk-light"
        assert {"agentdesk-dark", "agentdesk-high-contrast"} <= set(app.available_themes)
        await pilot.press("ctrl+p", *"high-contrast")
        await until(pilot, lambda: "Theme: agentdesk-high-contrast" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "agentdesk-high-contrast")
    (tmp_path / "broken.toml").write_text("name = ")
    app = make_app(theme="missing", themes_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.theme == "textual-dark"
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "broken.toml" in messages and "'missing' not found" in messages


async def test_canned_response_by_trigger_and_by_picker(make_app, console_desk, clock):
    await seed(console_desk, clock)
    canned = {"refund": "Hi {customer.first_name}, the refund is on its way.", ";bye": "Bye!"}
    app = make_app(canned=canned)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *";refund", "tab")
        composer = app.main.pane().composer
        assert composer.text == "Hi Ana, the refund is on its way."
        assert isinstance(app.focused, ComposerArea)  # tab expanded, focus stayed
        await pilot.press("ctrl+t")
        await pilot.press("down", "enter")  # sorted: bye, refund
        assert composer.text.endswith("Hi Ana, the refund is on its way.")
        await until(pilot, lambda: isinstance(app.focused, ComposerArea))


async def test_sms_limits_are_shown_live_and_enforced(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        app.main.open_task(tasks[2].id)
        await pilot.press("r")
        composer = app.main.pane().composer
        composer.area.insert("x" * 170)
        await pilot.pause()
        status = composer.query_one(".composer-status").render().plain
        assert "170/480" in status and "2 segments" in status
        composer.area.insert("x" * 400)
        await pilot.press("ctrl+s")
        assert composer.has_class("-over")
        await until(pilot, lambda: any("Too long" in str(n.message) for n in app._notifications))
        assert [
            e for e in console_desk.store.events_of_task(tasks[2].id) if isinstance(e, Message)
        ][-1].actor == "customer"


async def test_narrow_terminal_gives_the_focused_pane_the_width(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        main = app.main

        def shown() -> list[str]:
            panes = ("inbox-pane", "centre", "customer")
            return [p for p in panes if main.query_one(f"#{p}").region.width]

        assert shown() == ["inbox-pane"]
        await pilot.press("enter")
        await until(pilot, lambda: shown() == ["centre"])
        await pilot.press("tab")
        await until(pilot, lambda: shown() == ["customer"])
        await pilot.press("escape")
        await until(pilot, lambda: shown() == ["inbox-pane"])
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: shown() == ["inbox-pane", "centre", "customer"])


async def test_resizing_to_40x12_while_writing_does_not_break(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"hello")
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.press("!", "ctrl+s")
        await until(
            pilot,
            lambda: (
                [
                    e
                    for e in console_desk.store.events_of_task(tasks[0].id)
                    if isinstance(e, Message)
                ][-1].text
                == "hello!"
            ),
        )
        await pilot.press("escape", "j", "s", "question_mark", "escape")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen is app.main


async def test_search_fetches_the_next_page_at_the_end_of_the_results(
    make_app, console_desk, clock
):
    from agentdesk.plugin import InboundMessage

    for n in range(55):
        await console_desk.ingest("mail", InboundMessage(f"c{n}@example.com", f"parcel {n}"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"parcel")
        screen = app.screen
        await until(pilot, lambda: len(screen._task_ids) == 50)
        assert "55 results, first 50 shown" in screen.query_one("#search-status").render().plain
        await pilot.press("down", "end")
        await until(pilot, lambda: len(screen._task_ids) == 55)
        assert len(set(screen._task_ids)) == 55
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.main)
        assert app.main.pane().task_id == screen._task_ids[49]  # the one highlighted


async def test_the_key_bar_follows_the_focus_and_takes_clicks(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        bar = app.main.query_one(KeyBar)
        shown = lambda: [hint.description for hint in bar.hints]  # noqa: E731
        assert shown()[:4] == ["Open", "Reply", "Note", "Pending"]
        await pilot.press("enter", "r")
        await until(pilot, lambda: "Send" in shown() and "Reply" not in shown())
        assert "^s Send" in screen_text(app).splitlines()[-1]
        await pilot.press("escape", "escape")
        await until(pilot, lambda: "Reply" in shown())
        await pilot.pause()
        line = screen_text(app).splitlines()[-1]
        assert line.rstrip().endswith("^p Commands")  # the palette's key at the right
        await pilot.click(KeyBar, offset=(line.index("? Help") + 2, 0))
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_an_empty_inbox_says_why_and_what_to_do(make_app, console_desk, clock):
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "No tasks yet" in screen_text(app))
        assert "Channels: mail up, chat up" in screen_text(app)
        await seed(console_desk, clock)
        await until(pilot, lambda: "No tasks yet" not in screen_text(app))
        await pilot.press("f", "f")  # a view nothing is in
        await until(pilot, lambda: "Nothing in this view" in screen_text(app))


async def test_an_inbox_with_no_channel_points_to_the_demo(clock):
    from agentdesk.core.desk import Desk
    from agentdesk.store.memory import MemoryStore
    from agentdesk.tui import AgentDeskApp

    app = AgentDeskApp(LocalConnector(Desk(MemoryStore(), clock=clock)), clock=clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "no channel is configured" in screen_text(app))
        assert "agentdesk demo" in screen_text(app)


@pytest.mark.parametrize("mode", ["local", "hub"])
async def test_the_team_board_shows_the_days_flow_and_follows_the_desk(console_desk, clock, mode):
    await seed(console_desk, clock)
    for size in ((80, 24), (200, 60)):
        connector = (
            ServedConnector(console_desk, "lea", Role.LEAD)
            if mode == "hub"
            else LocalConnector(console_desk, "ana")
        )
        app = AgentDeskApp(connector, clock=clock, search_delay=0)
        await _board_at(app, console_desk, size)


async def test_an_agent_is_told_the_board_is_for_leads(console_desk, clock):
    await seed(console_desk, clock)
    app = AgentDeskApp(ServedConnector(console_desk, "al", Role.AGENT), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("L")
        await until(pilot, lambda: "takes the lead role" in screen_text(app))
        assert app.screen.board is None
        await pilot.press("escape")
        assert app.screen is app.main


async def _board_at(app, console_desk, size) -> None:
    from agentdesk.plugin import InboundMessage
    from agentdesk.tui.screens.board import BoardScreen

    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("L")
        board = app.screen
        assert isinstance(board, BoardScreen)
        await until(pilot, lambda: board.board is not None)
        text = screen_text(app)
        assert "Team board today" in text and "longest" in text
        waiting = sum(flow.waiting for flow in board.board.channels)
        queued = [t for t in console_desk.store.tasks() if t.status == "open" and not t.assignee]
        assert waiting == len(queued) > 0
        assert app.client.me in [a.name for a in board.board.agents]
        # A customer writes: the board asks again and counts them.
        board._asked_at = 0.0
        visitor = f"visitor-{size[0]}"
        await console_desk.ingest("chat", InboundMessage(visitor, "anyone there?"))
        await until(pilot, lambda: sum(f.waiting for f in board.board.channels) == waiting + 1)
        await pilot.press("escape")
        assert app.screen is app.main


@pytest.mark.parametrize("mode", ["local", "hub"])
async def test_rows_turn_amber_then_red_by_the_tasks_service_level_target(
    console_desk, clock, mode
):
    from agentdesk.metrics.sla import SlaPolicy, SlaTarget
    from agentdesk.plugin import InboundMessage

    await seed(console_desk, clock)
    console_desk.sla_policy = SlaPolicy((SlaTarget(first_response=600),), warn_at=0.5)
    await console_desk.live_metrics()
    connector = (
        ServedConnector(console_desk, "ana") if mode == "hub" else LocalConnector(console_desk)
    )
    app = AgentDeskApp(connector, clock=clock, search_delay=0)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        task = (await console_desk.ingest("chat", InboundMessage("v1", "hello"))).task
        inbox = app.main.inbox
        await until(pilot, lambda: task.id in inbox.sla)
        assert inbox._wait_level(task.id, 0, clock()) == 0
        clock.advance(301)  # past half of ten minutes: amber
        assert inbox._wait_level(task.id, 301, clock()) == 1
        clock.advance(300)  # past ten minutes: red
        assert inbox._wait_level(task.id, 601, clock()) == 2
        await app.client.reply(task.id, "hello!")  # answered: no clock runs
        await until(pilot, lambda: task.id not in inbox.sla)
        assert inbox._wait_level(task.id, None, clock()) == 0


@pytest.mark.parametrize("mode", ["local", "hub"])
async def test_a_lead_watches_an_agents_screen_live_without_marking_it_read(
    console_desk, clock, mode
):
    from agentdesk.api import Actor
    from agentdesk.api import requests as rq
    from agentdesk.domain import Priority, Whisper
    from agentdesk.plugin import InboundMessage
    from agentdesk.tui.screens.board import BoardScreen

    tasks = await seed(console_desk, clock)
    watched = next(t for t in tasks if t.unread)
    await console_desk.handle(Actor.embedded("admin"), rq.AddAgent(name="sam"))
    console_desk.set_presence("sam", "online")
    await console_desk.handle(Actor(agent="sam", role=Role.AGENT), rq.Focus(task_id=watched.id))
    connector = (
        ServedConnector(console_desk, "lea", Role.LEAD)
        if mode == "hub"
        else LocalConnector(console_desk, "lea")
    )
    app = AgentDeskApp(connector, clock=clock, search_delay=0)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("L")
        board = app.screen
        assert isinstance(board, BoardScreen)
        await until(pilot, lambda: board.board is not None)
        table = board.query_one("#board-agents")
        row = [a.name for a in board.board.agents].index("sam")
        table.move_cursor(row=row)
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: board.monitor.task_id == watched.id and board.monitor.events)
        await until(pilot, lambda: "also on this conversation: sam" in screen_text(app))
        assert console_desk.activity.viewers(watched.id) == ["lea", "sam"]
        who = console_desk.store.get_customer(watched.customer_id).identities[0]
        await console_desk.ingest(watched.channel, InboundMessage(who.value, "still there?"))
        await until(pilot, lambda: "still there?" in screen_text(app))
        assert console_desk.store.get_task(watched.id).unread  # watching is not reading
        await pilot.press("p")
        await until(pilot, lambda: not isinstance(app.screen, BoardScreen))
        app.screen.dismiss("urgent")  # the priority prompt, for the watched task
        await until(
            pilot, lambda: console_desk.store.get_task(watched.id).priority == Priority.URGENT
        )
        await console_desk.handle(
            Actor.embedded("admin"), rq.Assign(task_id=watched.id, assignee="sam")
        )
        await pilot.press("w")
        await pilot.press(*"offer the voucher", "enter")
        await until(
            pilot,
            lambda: any(
                isinstance(e, Whisper) and e.to == "sam"
                for e in console_desk.store.events_of_task(watched.id)
            ),
        )
        await until(pilot, lambda: "whisper" in screen_text(app))  # she sees it too
        await pilot.press("escape")  # back to her own screen: she no longer watches it
        await until(pilot, lambda: console_desk.activity.viewers(watched.id) == ["sam"])


@pytest.mark.parametrize("mode", ["local", "hub"])
async def test_a_conversation_shows_who_else_has_it_on_screen(console_desk, clock, mode):
    from agentdesk.api import Actor
    from agentdesk.api import requests as rq

    tasks = await seed(console_desk, clock)
    await console_desk.handle(Actor.embedded("admin"), rq.AddAgent(name="sam"))
    console_desk.set_presence("sam", "online")
    connector = (
        ServedConnector(console_desk, "lea", Role.LEAD)
        if mode == "hub"
        else LocalConnector(console_desk, "lea")
    )
    app = AgentDeskApp(connector, clock=clock, search_delay=0)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        app.main.open_task(tasks[0].id)
        await until(pilot, lambda: console_desk.activity.viewers(tasks[0].id) == ["lea"])
        assert "also on this conversation" not in screen_text(app)  # only herself
        sam = Actor(agent="sam", role=Role.AGENT)
        await console_desk.handle(sam, rq.Focus(task_id=tasks[0].id))
        await until(pilot, lambda: "also on this conversation: sam" in screen_text(app))
        console_desk.set_presence("sam", "offline")
        await until(pilot, lambda: "also on this conversation" not in screen_text(app))


@pytest.mark.parametrize("name", ["sam", "al"])
async def test_the_agent_sees_a_whisper_and_another_agent_does_not(console_desk, clock, name):
    from agentdesk.api import Actor
    from agentdesk.api import requests as rq

    task = (await seed(console_desk, clock))[0]
    lead = Actor(agent="lea", role=Role.LEAD)
    app = AgentDeskApp(ServedConnector(console_desk, name, Role.AGENT), clock=clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await console_desk.handle(lead, rq.Assign(task_id=task.id, assignee="sam"))
        app.main.open_task(task.id)
        await until(pilot, lambda: app.main.pane().events)
        await console_desk.handle(lead, rq.AddNote(task_id=task.id, text="psst", whisper=True))
        if name == "sam":
            await until(pilot, lambda: "psst" in screen_text(app))
            assert "whisper" in screen_text(app)
            await until(pilot, lambda: any("lea whispers" in n for n in notices(app)))
        else:
            for _ in range(30):
                await pilot.pause()
            assert "psst" not in screen_text(app)
            assert not any("whispers" in n for n in notices(app))


async def test_a_lead_console_opens_on_the_board(console_desk, clock):
    from agentdesk.tui.screens.board import BoardScreen

    await seed(console_desk, clock)
    app = AgentDeskApp(LocalConnector(console_desk), clock=clock, lead=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BoardScreen))
        await until(pilot, lambda: app.screen.board is not None)
        await pilot.press("L")
        assert app.screen is app.main
