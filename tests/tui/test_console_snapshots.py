"""SVG snapshots of every screen at 80×24 and 160×48 (fixed clock, fixed data).

Update them after a deliberate change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from agentdesk.tui import AgentDeskApp

from .conftest import sample_connector, until
from .sample_desk import NOW

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
CANNED = {"refund": "Hi {customer.first_name}, the refund for #{task.number} is on its way."}


def console(theme: str = "agentdesk-dark") -> AgentDeskApp:
    return AgentDeskApp(
        sample_connector(), clock=lambda: NOW, theme=theme, canned=CANNED, search_delay=0
    )


def steady(pilot) -> None:
    """No blinking cursors: the picture must not depend on when it is taken."""
    for widget in pilot.app.screen.query("TextArea, Input"):
        if isinstance(widget, TextArea | Input):
            widget.cursor_blink = False


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.main.index.known() == 5)
    await pilot.pause()


async def opened(pilot, number: int = 1002) -> None:
    app = pilot.app
    await loaded(pilot)
    task = next(t for t in app.main.index.all_tasks() if t.number == number)
    app.main.open_task(task.id)
    await until(pilot, lambda: app.main.pane().events and app.main.customer_pane.entries)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare, size):
    assert snap_compare(console(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_conversation(snap_compare, size):
    assert snap_compare(console(), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_composer_sms_counter(snap_compare, size):
    async def run_before(pilot):
        await opened(pilot, 1006)
        await pilot.press("r", *"Yes. ", *";refund", "tab")
        steady(pilot)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_customer_pane(snap_compare, size):
    async def run_before(pilot):
        await opened(pilot)
        await pilot.press("tab")

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_search(snap_compare, size):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("slash", *"order")
        await until(pilot, lambda: pilot.app.screen._task_ids)
        steady(pilot)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_search_syntax(snap_compare, size):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("slash")
        steady(pilot)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_handoff(snap_compare, size):
    async def run_before(pilot):
        await opened(pilot)
        await pilot.press("h")
        await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "HandoffScreen")
        steady(pilot)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_split_view(snap_compare, size):
    async def run_before(pilot):
        await opened(pilot)
        await pilot.press("escape", "k", "s")  # the row above: the pending chat
        await until(pilot, lambda: pilot.app.main.pane("conv-b").events)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_pending_prompt(snap_compare, size):
    async def run_before(pilot):
        await opened(pilot)
        await pilot.press("p", *"tomorrow 9:00")
        steady(pilot)

    assert snap_compare(console(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", ["agentdesk-light", "agentdesk-high-contrast"])
def test_themes(snap_compare, theme):
    assert snap_compare(console(theme), terminal_size=(160, 48), run_before=opened)


@pytest.mark.parametrize(
    "size", [pytest.param((80, 24), id="80x24"), pytest.param((200, 60), id="200x60")]
)
def test_team_board(snap_compare, size):
    async def run_before(pilot):
        app = pilot.app
        await opened(pilot)  # the conversation on this agent's screen
        await pilot.press("L")
        board = app.screen
        await until(pilot, lambda: board.board is not None and board.board.agents)
        table = board.query_one("#board-agents")
        table.focus()
        await pilot.press("enter")  # watch the agent's screen
        await until(pilot, lambda: board.monitor.events)
        await pilot.pause()

    assert snap_compare(console(), terminal_size=size, run_before=run_before)
