"""What the console's screens share about the desk, in one object that is no widget.

The agent's screen and, later, the team lead's views hold one each: the client
(once connected), the channels and customers the console knows, the task an
action is for, and the queue of desk commands — run one after the other in
the order the agent gave them, a refusal shown as a toast with the desk's
sentence, a changed task handed to whoever shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from agentdesk.api import ChannelStatus, DeskClient, DeskError
from agentdesk.domain import Customer, Priority, Status, Task

from .safe_text import safe_line

Notify = Callable[..., None]
"""``notify(message, *, title=, severity=, timeout=, markup=)``, as Textual's."""

Command = Callable[[], Awaitable[object]]


def _no_target() -> Task | None:
    return None


class DeskController:
    """The console's side of the desk, shared by its screens."""

    def __init__(self, client: Callable[[], DeskClient | None], notify: Notify) -> None:
        self._client = client
        self._notify = notify
        self._queue: asyncio.Queue[Command] = asyncio.Queue()
        self._task_listeners: list[Callable[[Task], None]] = []
        #: The task an action is for; the screen that has the focus says which.
        self.target: Callable[[], Task | None] = _no_target
        self.channels: dict[str, ChannelStatus] = {}
        self.customers: dict[str, Customer] = {}

    # --- the client -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client() is not None

    @property
    def client(self) -> DeskClient:
        client = self._client()
        if client is None:
            raise DeskError("not connected to the desk yet")
        return client

    def on_task_changed(self, listener: Callable[[Task], None]) -> None:
        """Call ``listener`` with each task a command of this console changed."""
        self._task_listeners.append(listener)

    def customer_name(self, task: Task) -> str:
        customer = self.customers.get(task.customer_id)
        return customer.display_name if customer else task.customer_name or "customer"

    # --- commands, one at a time ------------------------------------------------------

    def command(self, make: Command) -> None:
        """Queue a desk command; commands run one after the other, in order."""
        self._queue.put_nowait(make)

    async def run_commands(self) -> None:
        """Run queued commands until cancelled (a worker of the screen runs this)."""
        while True:
            make = await self._queue.get()
            await make()

    async def call(self, call: Callable[[DeskClient], Awaitable[Any]], done: str = "") -> Any:
        """Run one desk command now: its result, or None once its refusal is shown."""
        try:
            result = await call(self.client)
        except DeskError as exc:
            self._notify(safe_line(str(exc), 300), markup=False, title="Refused", severity="error")
            return None
        if isinstance(result, Task):
            for listener in self._task_listeners:
                listener(result)
        if done:
            self._notify(done, timeout=3, markup=False)
        return result

    def queue_call(self, call: Callable[[DeskClient], Awaitable[Any]], done: str = "") -> None:
        """``call``, queued behind the commands given before it."""

        async def run() -> None:
            await self.call(call, done)

        self.command(run)

    # The commands the screens give, each for one task.

    async def set_status(
        self, task: Task, status: Status, pending_until: float | None = None
    ) -> Task | None:
        result: Task | None = await self.call(
            lambda c: c.set_status(task.id, status, pending_until=pending_until)
        )
        return result

    def assign(self, task: Task, assignee: str | None) -> None:
        self.queue_call(lambda c: c.assign(task.id, assignee))

    def transfer(self, task: Task, *, assignee: str | None, team: str | None, note: str) -> None:
        self.queue_call(
            lambda c: c.transfer(task.id, assignee=assignee, team=team, note=note),
            done=f"#{task.number} transferred",
        )

    def set_tags(self, task: Task, tags: list[str]) -> None:
        self.queue_call(lambda c: c.set_tags(task.id, tags))

    def set_priority(self, task: Task, priority: Priority) -> None:
        self.queue_call(lambda c: c.set_priority(task.id, priority))

    def handoff(
        self,
        task: Task,
        *,
        channel: str,
        identity: str,
        message: str | None,
        template: str | None = None,
        params: list[str] | None = None,
    ) -> None:
        self.queue_call(
            lambda c: c.handoff(
                task.id,
                to_channel=channel,
                to_identity=identity,
                message=message,
                template=template,
                params=params,
            ),
            done=f"#{task.number} handed off to {channel}",
        )
