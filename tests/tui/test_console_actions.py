"""Every task action from the keyboard, against a real desk (SQLite store):
in the console's process, and behind a real hub on a loopback port."""

from __future__ import annotations

import pytest

from agentdesk.core.desk import LocalDeskClient
from agentdesk.domain import (
    Assignment,
    DeliveryState,
    Handoff,
    Message,
    Note,
    Priority,
    Status,
    Transfer,
)
from agentdesk.tui.widgets.composer import ComposerArea
from agentdesk.tui.widgets.conversation import ConversationPane

from .conftest import ready, seed, until


@pytest.fixture(params=["local", "hub"])
def console_mode(request: pytest.FixtureRequest) -> str:
    return request.param


def events_of(desk, task_id, kind):
    return [e for e in desk.store.events_of_task(task_id) if isinstance(e, kind)]


async def test_open_reply_close_and_next_in_four_keys(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        main = app.main
        assert main.inbox.cursor_id == tasks[0].id  # the longest waiting is selected
        await pilot.press("enter", "r")
        assert isinstance(app.focused, ComposerArea)
        await pilot.press(*"Sorry")
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: events_of(console_desk, tasks[0].id, Message)[-1].text == "Sorry"
        )
        await pilot.press("x")
        await until(pilot, lambda: main.pane().task_id == tasks[1].id)
        assert console_desk.store.get_task(tasks[0].id).status == Status.CLOSED
        reply = events_of(console_desk, tasks[0].id, Message)[-1]
        assert reply.actor == "ana" and reply.delivery == DeliveryState.QUEUED
        # The next one is open and selected: the loop starts again.
        assert main.inbox.cursor_id == tasks[1].id
        assert main.pane().composer.text == ""
        await pilot.press("r", *"Done", "ctrl+s")
        await until(pilot, lambda: events_of(console_desk, tasks[1].id, Message)[-1].text == "Done")


async def test_note_is_internal_and_looks_different(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "n", *"vip", "ctrl+s")
        await until(pilot, lambda: events_of(console_desk, tasks[0].id, Note))
        assert events_of(console_desk, tasks[0].id, Note)[0].text == "vip"
        await until(pilot, lambda: app.main.pane().thread.texts("note"))
        assert console_desk.store.outbox() == []  # a note never leaves the desk


async def test_escape_leaves_the_composer_and_keeps_the_draft(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"draft", "escape")
        assert not isinstance(app.focused, ComposerArea)
        await pilot.press("escape", "j", "enter")  # another task
        await until(pilot, lambda: app.main.pane().task_id == tasks[1].id)
        assert app.main.pane().composer.text == ""
        await pilot.press("escape", "k", "enter")
        await until(pilot, lambda: app.main.pane().task_id == tasks[0].id)
        assert app.main.pane().composer.text == "draft"


async def test_pending_with_a_snooze_time_then_reopen(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "p", *"zz")
        assert "cannot read" in app.screen.query_one(".dialog-error").render().plain
        await pilot.press("enter")  # refused: the prompt stays
        assert app.screen.query(".dialog-error")
        await pilot.press("ctrl+u", *"2h", "enter")
        task = tasks[0]
        await until(pilot, lambda: console_desk.store.get_task(task.id).status == Status.PENDING)
        assert console_desk.store.get_task(task.id).pending_until == clock.now + 7200
        await pilot.press("o")
        await until(pilot, lambda: console_desk.store.get_task(task.id).status == Status.OPEN)


async def test_assign_unassign_transfer(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    task_id = tasks[0].id
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("a", "enter")  # pre-filled with me
        await until(pilot, lambda: console_desk.store.get_task(task_id).assignee == "ana")
        await pilot.press("a", "ctrl+u", "-", "enter")
        await until(pilot, lambda: console_desk.store.get_task(task_id).assignee is None)
        assert len(events_of(console_desk, task_id, Assignment)) == 2
        await pilot.press("t", *"ben", "enter", *"ops", "enter", *"vip", "enter")
        await until(pilot, lambda: events_of(console_desk, task_id, Transfer))
        transfer = events_of(console_desk, task_id, Transfer)[0]
        assert (transfer.new_assignee, transfer.new_team, transfer.note) == (
            "ben",
            "ops",
            "vip",
        )


async def test_transfer_needs_an_agent_or_a_team(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("t", "enter", "enter", "enter")
        assert "Name an agent or a team" in app.screen.query_one(".dialog-error").render().plain
        await pilot.press("escape")
        assert app.screen is app.main


async def test_tags_and_priority(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    task_id = tasks[0].id
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("number_sign", *"a, #b a", "enter")
        await until(pilot, lambda: console_desk.store.get_task(task_id).tags == ["a", "b"])
        await pilot.press("exclamation_mark")
        await pilot.press("home", "enter")  # urgent is first
        await until(pilot, lambda: console_desk.store.get_task(task_id).priority == Priority.URGENT)


async def test_handoff_to_a_known_identity_with_a_first_message(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    task_id = tasks[0].id  # Ana on chat, who also gave her email address
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "h")
        await until(pilot, lambda: app.screen.__class__.__name__ == "HandoffScreen")
        screen = app.screen
        first = screen.targets[0]
        assert (first.channel, first.identity) == ("mail", "ana@example.com")
        message = screen.query_one("#message").text
        assert "Hi Ana" in message and "chat" in message
        await pilot.press("ctrl+s")
        await until(pilot, lambda: console_desk.store.get_task(task_id).channel == "mail")
        [handoff] = events_of(console_desk, task_id, Handoff)
        assert handoff.from_channel == "chat" and handoff.to_channel == "mail"


async def test_handoff_to_a_new_identity_is_checked(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    task_id = tasks[2].id  # Cy on SMS: no email, no handle
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        app.main.open_task(task_id)
        await pilot.press("h")
        await until(pilot, lambda: app.screen.__class__.__name__ == "HandoffScreen")
        screen = app.screen
        row = next(i for i, t in enumerate(screen.targets) if t.channel == "mail")
        assert screen.targets[row].identity is None
        for _ in range(row):
            await pilot.press("down")
        await pilot.press("enter", *"cy@", "enter")
        assert "not an email address" in screen.query_one(".dialog-error").render().plain
        await pilot.press(*"x.io", "enter", "ctrl+s")
        await until(pilot, lambda: console_desk.store.get_task(task_id).channel == "mail")
        customer = console_desk.store.get_customer(tasks[2].customer_id)
        assert any(i.value == "cy@x.io" for i in customer.identities)


async def test_a_refused_command_is_a_toast_not_a_crash(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "o")  # already open
        await until(
            pilot, lambda: any("already open" in str(n.message) for n in app._notifications)
        )
        assert console_desk.store.get_task(tasks[0].id).status == Status.OPEN


async def test_reply_to_a_channel_that_is_down_is_queued_not_lost(make_app, console_desk, clock):
    from agentdesk.plugin import HealthState

    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        console_desk.update_channel("sms", state=HealthState.DOWN, detail="provider timeout")
        await until(pilot, lambda: any("sms is down" in str(n.message) for n in app._notifications))
        app.main.open_task(tasks[2].id)
        await pilot.press("r", *"ok", "ctrl+s")
        await until(pilot, lambda: events_of(console_desk, tasks[2].id, Message)[-1].actor == "ana")
        reply = events_of(console_desk, tasks[2].id, Message)[-1]
        assert reply.delivery == DeliveryState.QUEUED
        assert [e.event_id for e in console_desk.store.outbox()] == [reply.id]
        pane = app.main.pane()
        await until(pilot, lambda: pane.thread.texts("queued"))
        assert "pending delivery" in pane.thread.texts("queued")[-1]


async def test_split_view_and_swap(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        main = app.main
        await pilot.press("enter", "escape", "j", "s")
        await until(pilot, lambda: main.pane("conv-b").task_id == tasks[1].id)
        assert main.pane("conv-a").task_id == tasks[0].id
        assert main.active_conv == "conv-b"
        await pilot.press("w")
        assert main.active_conv == "conv-a"
        await pilot.press("r", "A", "ctrl+s")
        await until(pilot, lambda: events_of(console_desk, tasks[0].id, Message)[-1].text == "A")
        await pilot.press("w", "r", "B", "ctrl+s")
        await until(pilot, lambda: events_of(console_desk, tasks[1].id, Message)[-1].text == "B")
        await pilot.press("s")
        assert not main.pane("conv-b").display and main.active_conv == "conv-a"


async def test_views_filters_and_sort(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        main = app.main
        await pilot.press("a", "enter")  # the first task is now mine
        await until(pilot, lambda: main.index.get(tasks[0].id).assignee == "ana")
        await pilot.press("escape", "v")  # mine
        assert [main.index.id_at(i) for i in range(len(main.index))] == [tasks[0].id]
        await pilot.press("v")  # unassigned
        assert len(main.index) == 2
        await pilot.press("v", "3")  # all, third channel (sms)
        assert [main.index.id_at(i) for i in range(len(main.index))] == [tasks[2].id]
        assert "sms" in main.query_one("#inbox-title").render().plain
        await pilot.press("0", "O")  # all channels, newest first
        assert main.index.id_at(0) == tasks[2].id
        await pilot.press("f", "f", "f")  # closed
        assert len(main.index) == 0


async def test_live_updates_keep_the_selection(make_app, console_desk, clock):
    from agentdesk.plugin import InboundMessage

    await seed(console_desk, clock)
    for n in range(40):
        await console_desk.ingest("mail", InboundMessage(f"old{n}@example.com", "hello"))
        clock.advance(1)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        main = app.main
        await pilot.press("O", "home")  # newest first: new tasks arrive on top
        for _ in range(10):
            await pilot.press("j")
        chosen = main.inbox.cursor_id
        row_before = main.index.row_of(chosen)
        assert row_before == 10
        screen_row = row_before * main.inbox.row_height - main.inbox.scroll_y
        for n in range(20):
            await console_desk.ingest("mail", InboundMessage(f"new{n}@example.com", "hello"))
            clock.advance(1)
        await until(pilot, lambda: main.index.known() == 63)
        assert main.inbox.cursor_id == chosen
        row_after = main.index.row_of(chosen)
        assert row_after == row_before + 20
        # Still on the same line of the screen: the list moved under it.
        assert row_after * main.inbox.row_height - main.inbox.scroll_y == screen_row


async def test_notices_become_toasts(make_app, console_desk, clock):

    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        ben = LocalDeskClient(console_desk, "ben")
        await ben.assign(tasks[1].id, "ana")
        await until(pilot, lambda: any("assigned" in str(n.message) for n in app._notifications))


async def test_the_customer_pane_shows_every_task_and_opens_one(make_app, console_desk, clock):
    from agentdesk.plugin import InboundMessage

    tasks = await seed(console_desk, clock)
    older = tasks[0]
    await LocalDeskClient(console_desk, "ben").set_status(older.id, Status.CLOSED)
    clock.advance(8 * 86400)  # past the reopen window: a new task
    again = await console_desk.ingest("chat", InboundMessage("sess-ana", "Me again"))
    assert again.task.id != older.id
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        app.main.open_task(again.task.id)
        pane = app.main.customer_pane
        await until(pilot, lambda: len(pane.entries) == 2)
        assert "Ana García" in pane.query_one(".pane-title").render().plain
        timeline = pane.query_one(".timeline")
        ids = [timeline.get_option_at_index(i).id for i in range(timeline.option_count)]
        assert ids[0] == f"task:{again.task.id}"
        older_row = ids.index(f"task:{older.id}")
        timeline.focus()
        timeline.highlighted = older_row
        await pilot.press("enter")
        await until(pilot, lambda: app.main.pane().task_id == older.id)
        assert isinstance(app.main.pane(), ConversationPane)


async def test_connector_opens_on_mount_and_closes_on_quit(make_app, console_desk, clock):
    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        connector = app.connector
        assert connector.opened == 1 and connector.closed == 0
        await pilot.press("q")
        await until(pilot, lambda: connector.closed == 1)


async def test_keys_typed_ahead_reach_the_widget_the_previous_key_chose(
    make_app, console_desk, clock
):
    from textual import events

    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        # All queued before the console handles the first: a fast typist on a busy desk.
        keys = [("r", "r"), ("t", "t"), ("a", "a"), ("x", "x"), ("ctrl+s", None), ("x", "x")]
        for key, char in keys:
            app.post_message(events.Key(key, char))
        await until(pilot, lambda: app.main.pane().task_id == tasks[1].id)
        # The text went to the reply, the reply went before the close, the "x" closed.
        replies = events_of(console_desk, tasks[0].id, Message)
        assert replies[-1].text == "tax"
        assert console_desk.store.get_task(tasks[0].id).status == Status.CLOSED
        assert app.screen is app.main  # no transfer dialog opened by the "t"


async def test_a_short_terminal_shows_one_toast_at_a_time(make_app, console_desk, clock):
    from agentdesk.api import Update

    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.apply_update(Update(seq=0, notices=["new task #1 on mail", "new task #2 on mail"]))
        app.apply_update(Update(seq=0, notices=["new task #3 on mail"]))
        await pilot.pause()
        assert [str(n.message) for n in app._notifications] == ["new task #1 on mail"]
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        app.apply_update(Update(seq=0, notices=["new task #1 on mail", "new task #2 on mail"]))
        await pilot.pause()
        assert len(app._notifications) == 2


async def test_writing_a_reply_on_a_chat_shows_the_customer_the_agent_typing(
    make_app, console_desk, clock
):
    """Keystrokes in a reply tell the chat's customer an agent is writing; sending
    says it stopped; writing a note tells the customer nothing."""
    from agentdesk.plugin import Capabilities

    tasks = await seed(console_desk, clock)  # the chat task waits longest
    chat = Capabilities(kind="chat", identity_kind="chat", realtime=True, typing_indicators=True)
    console_desk.update_channel("chat", capabilities=chat)
    shown: list[tuple[str, str, bool]] = []

    async def gateway(channel: str, to: str, typing: bool) -> None:
        shown.append((channel, to, typing))

    console_desk.set_typing_gateway(gateway)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"Bonjour")
        await until(pilot, lambda: shown == [("chat", "sess-ana", True)])
        await pilot.press("ctrl+s")
        await until(pilot, lambda: shown[-1] == ("chat", "sess-ana", False))
        await until(pilot, lambda: events_of(console_desk, tasks[0].id, Message)[-1].text)
        told = len(shown)
        await pilot.press("n", *"internal")  # a note: the customer is not told
        await pilot.pause()
        assert len(shown) == told


async def test_the_customer_is_told_the_agent_stopped_after_a_pause(
    make_app, console_desk, clock, monkeypatch
):
    from agentdesk.plugin import Capabilities
    from agentdesk.tui.widgets import composer

    monkeypatch.setattr(composer, "TYPING_IDLE", 0.2)
    await seed(console_desk, clock)
    chat = Capabilities(kind="chat", identity_kind="chat", realtime=True, typing_indicators=True)
    console_desk.update_channel("chat", capabilities=chat)
    shown: list[bool] = []

    async def gateway(channel: str, to: str, typing: bool) -> None:
        shown.append(typing)

    console_desk.set_typing_gateway(gateway)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("enter", "r", *"Un instant")
        await until(pilot, lambda: shown == [True, False], tries=400)
        assert app.main.pane().composer.text == "Un instant"  # the draft stays


async def test_keys_typed_while_the_console_was_frozen_are_dropped_not_run(
    make_app, console_desk, clock
):
    import asyncio
    import threading
    import time

    from textual import events

    from agentdesk.tui.screens.prompts import TransferPrompt

    await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("enter")  # the conversation has the focus: "t" would transfer
        loop = asyncio.get_running_loop()

        def typist() -> None:
            time.sleep(0.1)  # typing while the loop is frozen, as a terminal would
            loop.call_soon_threadsafe(app._driver.send_message, events.Key("t", "t"))

        threading.Thread(target=typist).start()
        time.sleep(2.5)  # a plugin blocking the event loop
        await until(pilot, lambda: any("frozen" in str(n.message) for n in app._notifications))
        await pilot.pause()
        assert not isinstance(app.screen, TransferPrompt)
        await pilot.press("t")  # what is typed now acts as ever
        await until(pilot, lambda: isinstance(app.screen, TransferPrompt))


async def test_away_and_back_by_key_and_by_idle_time_and_the_team_in_the_header(
    make_app, console_desk, clock
):
    from agentdesk.api import Role
    from agentdesk.api import requests as rq
    from agentdesk.core.desk.desk import DESK_ACTOR

    await seed(console_desk, clock)
    for name in ("ana", "ben"):
        await console_desk.handle(DESK_ACTOR, rq.AddAgent(name=name, role=Role.ADMIN))

    def presence_of(name):
        return {a.name: a.presence for a in console_desk.agent_list()}[name]

    def team_line():
        return str(app.main.query_one("#team").render())

    app = make_app(idle_away=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await until(pilot, lambda: presence_of("ana") == "online")
        await until(pilot, lambda: team_line() == "team 1/2 online")
        await pilot.press("A")
        await until(pilot, lambda: presence_of("ana") == "away")
        await until(pilot, lambda: team_line() == "you: away · team 0/2 online, 1 away")
        await pilot.press("A")
        await until(pilot, lambda: presence_of("ana") == "online")
        # Idle past the limit: away by itself; the next key brings her back.
        clock.advance(61)
        app._idle_check()
        await until(pilot, lambda: presence_of("ana") == "away")
        await pilot.press("j")
        await until(pilot, lambda: presence_of("ana") == "online")


async def test_an_agent_may_not_say_they_are_offline(console_desk):
    from agentdesk.api import DeskError
    from agentdesk.api import requests as rq

    client = LocalDeskClient(console_desk, "ana")
    try:
        await client.request(rq.SetPresence(presence="offline"))
    except DeskError as exc:
        assert "offline is said by the hub" in str(exc)
    else:
        raise AssertionError("offline was accepted from the agent")


async def test_n_takes_the_next_waiting_task_and_opens_it(make_app, console_desk, clock):
    tasks = await seed(console_desk, clock)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("N")
        await until(pilot, lambda: console_desk.store.get_task(tasks[0].id).assignee == "ana")
        await until(pilot, lambda: app.main.pane().task_id == tasks[0].id)
        await pilot.press("escape", "N")
        await until(pilot, lambda: console_desk.store.get_task(tasks[1].id).assignee == "ana")


async def test_call_back_rings_the_agent_through_the_calling_channel(
    make_app, console_desk, clock, tmp_path
):
    from calling_channel import Caller

    from agentdesk.core.config import ChannelConfig, Config, HttpConfig
    from agentdesk.core.host.channel_runtime import ChannelRuntime
    from agentdesk.core.host.discovery import PluginCatalog

    tasks = await seed(console_desk, clock)
    config = Config(
        source="test.toml",
        store=tmp_path / "store",
        http=HttpConfig(host="127.0.0.1", port=0),
        channels=[ChannelConfig("caller", "phone", {}, 0)],
    )
    runtime = ChannelRuntime(
        console_desk, config, catalog=PluginCatalog({"caller": Caller}, {}, [])
    )
    await runtime.start()
    app = make_app()
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await ready(pilot)
            app.main.open_task(tasks[2].id)  # Cy wrote by SMS: a phone number
            await pilot.press("escape", "c")
            await until(pilot, lambda: any("ringing" in str(n.message) for n in app._notifications))
            said = [str(n.message) for n in app._notifications if "ringing" in str(n.message)]
            assert said == [f"{tasks[2].label}: ringing ana's phone, then +34600111222"]
            instance = runtime.supervisors["phone"].instance
            assert [p[:2] for p in instance.placed] == [("+34600111222", "ana")]
            app.main.open_task(tasks[1].id)  # Bo wrote by email alone
            await pilot.press("escape", "c")
            await until(
                pilot,
                lambda: any("no phone identity" in str(n.message) for n in app._notifications),
            )
            assert len(instance.placed) == 1
            # Handing Cy's SMS off onto the phone line is a call back too.
            app.main.open_task(tasks[2].id)
            await pilot.press("escape", "h")
            await until(pilot, lambda: app.screen.__class__.__name__ == "HandoffScreen")
            screen = app.screen
            assert (screen.targets[0].channel, screen.targets[0].calls) == ("phone", True)
            await until(pilot, lambda: screen.query_one("#message").disabled)
            assert "your phone rings" in str(screen.query_one("#message-hint").render())
            await pilot.press("ctrl+s")
            await until(pilot, lambda: console_desk.store.get_task(tasks[2].id).channel == "phone")
            assert [p[:2] for p in instance.placed][-1] == ("+34600111222", "ana")
            assert console_desk.store.outbox() == []
    finally:
        await runtime.stop()
