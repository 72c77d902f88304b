"""The console's controller on its own, with no screen: what a lead's view reuses."""

from __future__ import annotations

import asyncio

from agentdesk.core.desk import LocalDeskClient
from agentdesk.domain import Priority, Status
from agentdesk.tui.desk_controller import DeskController

from .conftest import seed


class Toasts(list):
    def __call__(self, message, **options):
        self.append((str(message), options.get("severity", "information")))


async def test_commands_run_in_order_refusals_are_toasted_and_changed_tasks_are_handed_on(
    console_desk, clock
):
    first, second, _ = await seed(console_desk, clock)
    client = LocalDeskClient(console_desk, "ana")
    toasts = Toasts()
    desk = DeskController(lambda: client, toasts)
    changed = []
    desk.on_task_changed(changed.append)
    runner = asyncio.create_task(desk.run_commands())
    desk.set_priority(first, Priority.URGENT)
    desk.transfer(first, assignee="ben", team=None, note="billing")
    desk.set_tags(second, ["vip"])
    # A reply with nothing in it is refused by the desk, with its sentence.
    desk.queue_call(lambda c: c.reply(second.id, "   "))
    desk.assign(second, "ana")
    while len(changed) < 4:
        await asyncio.sleep(0.01)
    runner.cancel()
    assert [(t.id, t.priority, t.assignee) for t in changed[:2]] == [
        (first.id, Priority.URGENT, None),
        (first.id, Priority.URGENT, "ben"),
    ]
    assert changed[2].tags == ["vip"] and changed[3].assignee == "ana"
    assert (f"#{first.number} transferred", "information") in toasts
    assert [severity for _, severity in toasts].count("error") == 1
    task = await client.get_task(first.id)
    assert task.assignee == "ben" and task.priority == Priority.URGENT


async def test_without_a_client_a_command_is_refused_not_raised(console_desk, clock):
    first, *_ = await seed(console_desk, clock)
    toasts = Toasts()
    desk = DeskController(lambda: None, toasts)
    assert not desk.connected
    assert await desk.set_status(first, Status.CLOSED) is None
    assert toasts == [("not connected to the desk yet", "error")]
