"""The console's own documents, through the console: drafts survive a crash,
preferences and recent searches survive a restart, a damaged file never stops it.

Every test keeps its documents in a real TinyDB file under ``tmp_path``. A crash
is simulated by copying the file while the first console still runs (what a
killed console leaves on disk), then starting a new console on the copy.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from agentdesk.domain import Message
from agentdesk.plugin import Capabilities
from agentdesk.tui.inbox_index import InboxView, Scope, SortOrder, StatusFilter
from agentdesk.tui.local_docs import default_documents_path
from agentdesk.tui.widgets import composer as composer_module
from agentdesk.tui.widgets.composer import ComposeMode

from .conftest import notices, ready, seed, until

SIZE = (160, 48)


def text_of(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return ""


def drafts_in(path: Path) -> list[dict]:
    text = text_of(path)
    return list(json.loads(text).get("drafts", {}).values()) if text else []


async def eventually(pilot, predicate, seconds: float = 5.0) -> None:
    """Let real time pass (timers, the writer thread) until ``predicate()`` holds."""
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("the console never reached the expected state")


def status_line(app) -> str:
    return app.main.pane().composer.query_one(".composer-status").render().plain


async def open_first(pilot) -> None:
    app = pilot.app
    await pilot.press("enter")
    await until(pilot, lambda: app.main.pane().task_id == app.main.inbox.cursor_id)


async def test_a_draft_typed_before_a_crash_is_back_when_the_task_opens(
    make_app, console_desk, clock, tmp_path
):
    await seed(console_desk, clock)
    path, crashed = tmp_path / "console.json", tmp_path / "crashed.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"Half a reply")
        # Saved a moment after the typing stopped, without leaving the task.
        await eventually(pilot, lambda: "Half a reply" in text_of(path))
        shutil.copy(path, crashed)
    app = make_app(docs=crashed)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_first(pilot)
        composer = app.main.pane().composer
        await until(pilot, lambda: composer.text == "Half a reply")
        assert composer.mode == ComposeMode.REPLY
        assert status_line(app).startswith("↺ draft of ")
        await pilot.press("r", "!")  # edited: it is the agent's text now, no hint
        assert composer.text == "Half a reply!"
        assert not status_line(app).startswith("↺")


async def test_a_reply_and_a_note_are_two_drafts(make_app, console_desk, clock, tmp_path):
    await seed(console_desk, clock)
    path = tmp_path / "console.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"to the customer", "escape")
        clock.advance(60)  # the note is written a minute later
        await pilot.press("n", *"between us")
        await eventually(pilot, lambda: len(drafts_in(path)) == 2)
        shutil.copy(path, tmp_path / "crashed.json")
    app = make_app(docs=tmp_path / "crashed.json")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_first(pilot)
        composer = app.main.pane().composer
        # The task opens on the latest draft, the note.
        await until(pilot, lambda: composer.text == "between us")
        assert composer.mode == ComposeMode.NOTE
        await pilot.press("escape", "r")
        assert composer.text == "to the customer" and composer.mode == ComposeMode.REPLY


async def test_a_sent_reply_leaves_no_draft(make_app, console_desk, clock, tmp_path, monkeypatch):
    # No save after a pause: the draft is written by ctrl+s, and must go with the send.
    monkeypatch.setattr(composer_module, "DRAFT_SAVE_DELAY", 60)
    tasks = await seed(console_desk, clock)
    path = tmp_path / "console.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"Sorry about that", "ctrl+s")
        await until(
            pilot,
            lambda: any(
                isinstance(e, Message) and e.text == "Sorry about that"
                for e in console_desk.store.events_of_task(tasks[0].id)
            ),
        )
        await eventually(pilot, lambda: text_of(path) and not drafts_in(path))
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_first(pilot)
        await pilot.pause()
        assert app.main.pane().composer.text == ""


async def test_a_refused_reply_keeps_its_draft(
    make_app, console_desk, clock, tmp_path, monkeypatch
):
    # No save after a pause in this test: what is on disk was saved by ctrl+s.
    monkeypatch.setattr(composer_module, "DRAFT_SAVE_DELAY", 60)
    await seed(console_desk, clock)  # the chat task waits longest
    mute = Capabilities(kind="chat", identity_kind="chat", realtime=True, outbound=False)
    console_desk.update_channel("chat", capabilities=mute)
    path, crashed = tmp_path / "console.json", tmp_path / "crashed.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"Are you there?", "ctrl+s")
        await until(pilot, lambda: any("cannot send" in n for n in notices(app)))
        assert app.main.pane().composer.text == "Are you there?"
        await eventually(pilot, lambda: "Are you there?" in text_of(path))
        await pilot.pause(0.2)  # nothing removes it afterwards
        assert [d["text"] for d in drafts_in(path)] == ["Are you there?"]
        shutil.copy(path, crashed)
    app = make_app(docs=crashed)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_first(pilot)
        await until(pilot, lambda: app.main.pane().composer.text == "Are you there?")


async def test_emptying_the_composer_discards_the_draft(make_app, console_desk, clock, tmp_path):
    await seed(console_desk, clock)
    path = tmp_path / "console.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"oops")
        await eventually(pilot, lambda: "oops" in text_of(path))
        await pilot.press(*["backspace"] * 4)
        await eventually(pilot, lambda: not drafts_in(path))


async def test_leaving_the_task_or_quitting_saves_at_once(
    make_app, console_desk, clock, tmp_path, monkeypatch
):
    monkeypatch.setattr(composer_module, "DRAFT_SAVE_DELAY", 60)
    tasks = await seed(console_desk, clock)
    path = tmp_path / "console.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        # tab leaves the editor without escape (which saves too).
        await pilot.press("enter", "r", *"first", "tab", "escape", "j", "enter")
        await eventually(pilot, lambda: "first" in text_of(path))
        await pilot.press("r", *"second", "tab", "q")
        await until(pilot, lambda: app.return_code is not None)
    await asyncio.sleep(0)
    saved = {d["task"]: d["text"] for d in drafts_in(path)}
    assert saved == {tasks[0].id: "first", tasks[1].id: "second"}


async def test_a_damaged_file_is_set_aside_and_the_console_starts(
    make_app, console_desk, clock, tmp_path
):
    await seed(console_desk, clock)
    path = tmp_path / "console.json"
    path.write_text('{"drafts": {"1": {"text": "half', encoding="utf-8")
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: any("could not be read" in n for n in notices(app)))
        assert sum("could not be read" in n for n in notices(app)) == 1
        [aside] = tmp_path.glob("console.json.damaged-*")
        assert aside.read_text("utf-8") == '{"drafts": {"1": {"text": "half'
        await pilot.press("enter", "r", *"fresh start")
        await eventually(pilot, lambda: "fresh start" in text_of(path))
        assert [d["text"] for d in drafts_in(path)] == ["fresh start"]


async def test_preferences_survive_a_restart_per_agent(make_app, console_desk, clock, tmp_path):
    await seed(console_desk, clock)
    path = tmp_path / "console.json"
    chosen = InboxView(
        scope=Scope.MINE, status=StatusFilter.OPEN, sort=SortOrder.NEWEST, channel="sms"
    )
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("v", "f", "O", "3", "s")
        app.theme = "agentdesk-light"
        assert app.main.index.view == chosen and app.main.split
        await eventually(pilot, lambda: "agentdesk-light" in text_of(path))
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.main.index.view == chosen
        assert app.main.split and app.main.pane("conv-b").display
        assert app.theme == "agentdesk-light"
        assert "sms" in app.main.query_one("#inbox-title").render().plain
    # Another agent on the same machine starts from the configuration.
    app = make_app(docs=path, me="ben", theme="agentdesk-high-contrast")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.main.index.view == InboxView()
        assert not app.main.split
        assert app.theme == "agentdesk-high-contrast"


async def test_recent_searches_come_back_with_up_and_down(make_app, console_desk, clock, tmp_path):
    await seed(console_desk, clock)
    path = tmp_path / "console.json"
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for query in ("refund", "invoice", "refund"):
            await pilot.press("slash", *query)
            await until(pilot, lambda: getattr(app.screen, "_task_ids", None))
            await pilot.press("escape")
        await eventually(pilot, lambda: '"refund"' in text_of(path))
    app = make_app(docs=path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        box = app.screen.query_one("#query")
        seen = []
        for key in ("up", "up", "up", "down", "down"):
            await pilot.press(key)
            seen.append(box.value)
        # Distinct, newest first; up at the oldest stays; down past the newest empties.
        assert seen == ["refund", "invoice", "invoice", "refund", ""]
        await pilot.press(*"ship", "up")
        assert box.value == "ship"  # a query being typed is never replaced
        await pilot.press("ctrl+u", "up")
        await until(pilot, lambda: app.screen._task_ids)
        await pilot.press("enter")  # opens the first result of the recalled query
        await until(pilot, lambda: app.screen is app.main)


def test_tests_keep_their_documents_in_their_own_state_directory(state_home):
    from agentdesk.tui import AgentDeskApp

    from .conftest import sample_connector

    app = AgentDeskApp(sample_connector())
    assert default_documents_path().is_relative_to(state_home)
    assert app.keeper._source == default_documents_path()
