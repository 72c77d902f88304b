"""A messaging window in the console: the composer shows the time left, refuses
free text once it has closed, and ctrl+t sends an approved template with its
parameters — embedded and through a hub."""

from __future__ import annotations

import pytest

from agentdesk.api import ChannelStatus
from agentdesk.domain import Message
from agentdesk.plugin import Capabilities, HealthState, InboundMessage, ReplyTemplate
from agentdesk.tui.screens.prompts import ChoicePrompt

from .conftest import ready, screen_text, until

WA = Capabilities(
    kind="social",
    identity_kind="phone",
    max_text_length=4096,
    reply_window_hours=24,
    templates=(
        ReplyTemplate(
            "order_update",
            "Hello {{1}}, news about your order {{2}}. Reply to talk to us.",
            parameters=("first_name", "order"),
        ),
    ),
)


@pytest.fixture(params=["local", "hub"])
def console_mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def _wa_task(desk, clock):
    desk.register_channel(ChannelStatus("wa", "test", WA, HealthState.UP))
    result = await desk.ingest(
        "wa", InboundMessage("+33612345678", "Where is my order?", customer_name="Léa Martin")
    )
    return result.task


def _status(composer) -> str:
    return composer.query_one(".composer-status").render().plain


async def test_the_composer_counts_the_window_down_and_then_offers_templates(
    make_app, console_desk, clock
):
    task = await _wa_task(console_desk, clock)
    clock.advance(3600)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        app.main.open_task(task.id)
        await pilot.press("r")
        composer = app.main.pane().composer
        await until(pilot, lambda: "window open 23h 00m" in _status(composer))

        clock.advance(23 * 3600 + 120)  # the window closed two minutes ago
        composer.refresh_status()
        assert "window closed 2m ago: send a template (ctrl+t)" in _status(composer)
        assert composer.has_class("-over")
        await pilot.press(*"Found it")
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: any("window closed" in str(n.message) for n in app._notifications)
        )
        assert composer.text == "Found it"  # kept, nothing queued
        assert console_desk.store.outbox() == []

        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        assert "order_update" in screen_text(app) and "Templates" in screen_text(app)
        await pilot.press("enter")  # the template, listed first
        # The first parameter starts filled in from the customer's first name.
        await until(pilot, lambda: getattr(app.focused, "value", None) == "Léa")
        await pilot.press("enter", *"4471", "enter")
        await until(pilot, lambda: console_desk.store.outbox() != [])
        [sent] = [
            e
            for e in console_desk.store.events_of_task(task.id)
            if isinstance(e, Message) and e.actor == "ana"
        ]
        assert sent.template == "order_update" and sent.template_params == ["Léa", "4471"]
        assert sent.text == "Hello Léa, news about your order 4471. Reply to talk to us."
        await until(pilot, lambda: any(e.id == sent.id for e in app.main.pane().events))


async def test_a_handoff_onto_a_window_channel_sends_a_template_first(
    make_app, console_desk, clock
):
    console_desk.register_channel(ChannelStatus("wa", "test", WA, HealthState.UP))
    result = await console_desk.ingest(
        "sms", InboundMessage("+34600111222", "Is the store open on Sunday?", customer_name="Cy")
    )
    task_id = result.task.id
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        app.main.open_task(task_id)
        await pilot.press("h")
        await until(pilot, lambda: app.screen.__class__.__name__ == "HandoffScreen")
        screen = app.screen
        row = next(i for i, t in enumerate(screen.targets) if t.channel == "wa" and t.identity)
        for _ in range(row):
            await pilot.press("down")
        await pilot.pause()
        assert "only approved templates" in screen_text(app)
        assert screen.query_one("#message").disabled
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.focused, "value", None) == "Cy")
        await pilot.press("enter", *"88", "enter")
        await until(pilot, lambda: console_desk.store.get_task(task_id).channel == "wa")
        [first] = [
            e
            for e in console_desk.store.events_of_task(task_id)
            if isinstance(e, Message) and e.channel == "wa"
        ]
        assert first.template == "order_update" and "order 88" in first.text
