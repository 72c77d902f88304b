"""The console on a hub that goes away and comes back: it says so, keeps the
agent's work, never crashes on a read the hub cannot answer, and loads what it
could not once the hub is back."""

from __future__ import annotations

from .conftest import ServedConnector, notices, ready, screen_text, seed, until


async def test_opening_a_task_while_the_hub_is_away_waits_and_loads_when_it_is_back(
    console_desk, clock
):
    from agentdesk.tui import AgentDeskApp

    tasks = await seed(console_desk, clock)
    connector = ServedConnector(console_desk)
    app = AgentDeskApp(connector, clock=clock, search_delay=0)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        port = connector.http.port
        await connector.stop_hub()
        await until(pilot, lambda: "offline" in screen_text(app), tries=400)
        app.main.open_task(tasks[0].id)  # what the inbox knows shows at once
        await until(pilot, lambda: any("cannot load now" in n for n in notices(app)), tries=400)
        assert app.is_running  # no read the hub cannot answer brings the console down
        await connector.start_hub(port)
        await until(pilot, lambda: "● online" in screen_text(app), tries=1000)
        opened = tasks[0].preview[:20]
        await until(pilot, lambda: opened in screen_text(app), tries=400)
        # The title shows at once; the thread loads once the hub is back.
        await until(pilot, lambda: app.main.pane().events, tries=400)
