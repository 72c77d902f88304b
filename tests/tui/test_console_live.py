"""The live side: typing signals, a desk that resets or goes away, channel health."""

from __future__ import annotations

from agentdesk.api import Update
from agentdesk.plugin import HealthState
from agentdesk.tui import AgentDeskApp

from .conftest import until
from .fake_client import NOW, FakeClient, FakeConnector, sample_desk


def console(connector) -> AgentDeskApp:
    app = AgentDeskApp(connector, clock=lambda: NOW, search_delay=0)
    app.reconnect_delays = (0,)
    return app


async def test_the_customer_typing_shows_under_the_thread():
    desk = sample_desk()
    app = console(FakeConnector(desk))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 5)
        await pilot.press("enter")
        pane = app.main.pane()
        line = pane.query_one(".typing")
        assert not line.display
        desk.publish(Update(seq=0, typing={pane.task_id: True}))
        await until(pilot, lambda: line.display)
        desk.publish(Update(seq=0, typing={pane.task_id: False}))
        await until(pilot, lambda: not line.display)


async def test_a_reset_reloads_the_snapshot():
    desk = sample_desk()
    connector = FakeConnector(desk)
    calls = []
    snapshot = connector.client.snapshot

    async def counted():
        calls.append(1)
        return await snapshot()

    connector.client.snapshot = counted
    app = console(connector)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.main.index.known() == 5)
        first = next(iter(desk.tasks.values()))
        desk.tasks.pop(first.id)  # gone while the console was behind
        desk.publish(Update(seq=0, reset=True))
        await until(pilot, lambda: len(calls) == 2 and app.main.index.known() == 4)


class FlakyClient(FakeClient):
    """The first subscription breaks, as a hub connection that drops."""

    def __init__(self, desk, me):
        super().__init__(desk, me)
        self.subscriptions = 0

    async def subscribe(self, since):
        self.subscriptions += 1
        if self.subscriptions == 1:
            raise ConnectionError("connection reset by peer")
        async for update in super().subscribe(since):
            yield update


async def test_a_desk_that_goes_away_is_followed_again():
    desk = sample_desk()
    connector = FakeConnector(desk)
    connector.client = FlakyClient(desk, "ana")
    app = console(connector)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: connector.client.subscriptions == 2)
        await until(pilot, lambda: "online" in str(app.main.query_one("#presence").render()))
        assert any("connection reset" in str(n.message) for n in app._notifications)
        desk.set_channel_state("sms", HealthState.DOWN, "provider timeout")
        await until(pilot, lambda: any("sms is down" in str(n.message) for n in app._notifications))
        assert "✖" in str(app.main.query_one("#channels .-down").render())
        desk.set_channel_state("sms", HealthState.UP)
        await until(pilot, lambda: any("back up" in str(n.message) for n in app._notifications))


async def test_a_desk_that_cannot_be_opened_says_why():
    class Broken(FakeConnector):
        async def open(self):
            raise OSError("the store is locked by another console")

    app = console(Broken(sample_desk()))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app._notifications)
        assert "locked by another console" in str(next(iter(app._notifications)).message)
        assert "offline" in str(app.main.query_one("#presence").render())
