"""The live side: typing signals, a desk that resets or goes away, channel health."""

from __future__ import annotations

from agentdesk.api import Update
from agentdesk.core.desk import LocalDeskClient
from agentdesk.domain import Status
from agentdesk.plugin import HealthState
from agentdesk.tui import AgentDeskApp

from .conftest import LocalConnector, sample_connector, until
from .sample_desk import NOW, empty_desk, fill


def console(connector) -> AgentDeskApp:
    app = AgentDeskApp(connector, clock=lambda: NOW, search_delay=0)
    app.reconnect_delays = (0,)
    return app


async def test_the_customer_typing_shows_under_the_thread():
    connector = sample_connector()
    desk = connector.desk
    app = console(connector)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 5)
        await pilot.press("enter")
        pane = app.main.pane()
        line = pane.query_one(".typing")
        assert not line.display
        desk.bus.publish(Update(seq=desk.store.seq, typing={pane.task_id: True}))
        await until(pilot, lambda: line.display)
        desk.bus.publish(Update(seq=desk.store.seq, typing={pane.task_id: False}))
        await until(pilot, lambda: not line.display)


async def test_a_reset_reloads_the_snapshot(monkeypatch):
    desk = empty_desk()
    snapshots = []

    class Counting(LocalDeskClient):
        async def snapshot(self):
            snapshots.append(1)
            return await super().snapshot()

    connector = LocalConnector(desk, prepare=fill, client=Counting)
    app = console(connector)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 5)
        # A task closed while the console was not told (its queue overflowed):
        # only the reset brings the console back in line.
        with monkeypatch.context() as muted:
            muted.setattr(desk.bus, "publish", lambda update: None)
            first = next(iter(app.main.index.all_tasks()))
            await LocalDeskClient(desk, "ana").set_status(first.id, Status.CLOSED)
        assert app.main.index.known() == 5
        desk.bus.publish(Update(seq=desk.store.seq, reset=True))
        await until(pilot, lambda: len(snapshots) == 2 and app.main.index.known() == 4)


class FlakyClient(LocalDeskClient):
    """The first subscription breaks, as a hub connection that drops."""

    subscriptions = 0

    async def subscribe(self, since):
        FlakyClient.subscriptions += 1
        if FlakyClient.subscriptions == 1:
            raise ConnectionError("connection reset by peer")
        async for update in super().subscribe(since):
            yield update


async def test_a_desk_that_goes_away_is_followed_again(monkeypatch):
    monkeypatch.setattr(FlakyClient, "subscriptions", 0)
    desk = empty_desk()
    app = console(LocalConnector(desk, prepare=fill, client=FlakyClient))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: FlakyClient.subscriptions == 2)
        await until(pilot, lambda: "online" in str(app.main.query_one("#presence").render()))
        assert any("connection reset" in str(n.message) for n in app._notifications)
        desk.update_channel("sms", state=HealthState.DOWN, last_error="provider timeout")
        await until(pilot, lambda: any("sms is down" in str(n.message) for n in app._notifications))
        assert "✖" in str(app.main.query_one("#channels .-down").render())
        desk.update_channel("sms", state=HealthState.UP, last_error=None)
        await until(pilot, lambda: any("back up" in str(n.message) for n in app._notifications))


async def test_a_desk_that_cannot_be_opened_says_why():
    class Broken(LocalConnector):
        async def open(self):
            raise OSError("the store is locked by another console")

    app = console(Broken(empty_desk()))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app._notifications)
        assert "locked by another console" in str(next(iter(app._notifications)).message)
        assert "offline" in str(app.main.query_one("#presence").render())
        await pilot.press("q")
    assert app.return_code == 1  # a script that starts the console can tell
    assert app.open_error == "the store is locked by another console"
