"""Hostile customer text reaches the screen as data: literal, bounded, layout intact.

The desk cleans what it ingests, so these tests write the raw strings into
its store behind its back (as a store written before the cleaning, or a hub
of another version, would hold them): the console must be safe on its own.
"""

from __future__ import annotations

from agentdesk.core.desk import Desk
from agentdesk.domain.evolve import evolve
from agentdesk.plugin import InboundMessage
from agentdesk.store import Batch
from agentdesk.tui import AgentDeskApp

from .conftest import LocalConnector, sample_connector, screen_text, until
from .sample_desk import NOW, empty_desk, fill

HOSTILE_NAME = (
    "\x1b[31mEvil\x1b[0m [bold]Boss[/bold] [link=http://evil.example]click[/link]"
    "\x07\x1b]0;pwned\x07 \u202eolleh 日本語名前 🎉\r\nsecond line"
)
HOSTILE_TEXT = (
    "[red]not red[/red] $variable [@click=app.quit]quit[/] \x1b[2J\x1b[H"
    " שלום עולם 🎉👩‍👩‍👧 日本語のテキスト\ttab\x00nul\n"
)


async def fill_hostile(desk: Desk) -> None:
    """The sample desk, and a villain who has waited longest (raw text, ~1.2 MB)."""
    await fill(desk)
    desk.clock.now = NOW - 99999
    placeholder = InboundMessage("evil@example.com", "placeholder", subject="placeholder")
    task = (await desk.ingest("email", placeholder)).task
    desk.clock.now = NOW
    store = desk.store
    [message] = store.events_of_task(task.id)
    big = "".join(f"line {n} of a very long message\n" for n in range(40_000))
    subject = "[b]Subject[/b]\x1b[5m"
    customer = store.get_customer(task.customer_id)
    store.commit(
        Batch(
            customers=[evolve(customer, name=HOSTILE_NAME)],
            tasks=[evolve(task, customer_name=HOSTILE_NAME, subject=subject, preview=HOSTILE_TEXT)],
            events=[evolve(message, text=HOSTILE_TEXT + big, subject=subject)],
        )
    )


def hostile_console(**kwargs) -> AgentDeskApp:
    connector = LocalConnector(empty_desk(), prepare=fill_hostile)
    return AgentDeskApp(connector, clock=lambda: NOW, search_delay=0, **kwargs)


async def test_hostile_names_and_messages_are_shown_literally():
    app = hostile_console()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 6)
        await pilot.pause()
        text = screen_text(app)
        assert "Evil [bold]Boss[/bold] [link…" in text  # cut to its column, markup literal
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        await pilot.press("enter")  # the villain has waited longest
        await until(pilot, lambda: "more lines" in screen_text(app))
        text = screen_text(app)
        assert "[red]not" in text and "[@click=app.quit]quit[/]" in text
        assert "[link=http://ev" in text
        assert "\x1b" not in text and "\x00" not in text
        assert app.is_running  # the [@click=app.quit] did nothing
        lines = text.splitlines()
        assert len(lines) == 48
        assert "Reply" in lines[-1]  # the footer is still where it belongs
        assert "… 39942 more lines" in text  # a 1.2 MB message shows its first 60 lines


async def test_hostile_text_in_a_narrow_terminal():
    app = hostile_console()
    async with app.run_test(size=(40, 12)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 6)
        await pilot.press("enter")
        await until(pilot, lambda: app.main.pane().events)
        await pilot.press("tab", "tab", "escape")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert len(screen_text(app).splitlines()) == 24


async def test_hostile_notices_are_toasted_literally():
    from textual.widgets._toast import Toast

    from agentdesk.api import Update

    connector = sample_connector()
    desk = connector.desk
    app = AgentDeskApp(connector, clock=lambda: NOW, search_delay=0)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.main.index.known() == 5)
        desk.bus.publish(
            Update(seq=desk.store.seq, notices=["[bold]Boss[/] wrote \x1b[31m[link=x]y[/link]"])
        )
        await until(pilot, lambda: app.screen.query(Toast))
        await pilot.pause()
        assert "[bold]Boss[/] wrote [link=x]y[/link]" in screen_text(app)


def test_q_quits_the_console_and_closes_the_desk():
    connector = sample_connector()
    app = AgentDeskApp(connector, clock=lambda: NOW, search_delay=0)

    async def press_q(pilot) -> None:
        await until(pilot, lambda: app.main.index.known() == 5)
        await pilot.press("q")

    app.run(headless=True, size=(80, 24), auto_pilot=press_q)  # returns: the app ended
    assert connector.closed == 1
