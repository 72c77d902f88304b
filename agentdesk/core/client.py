"""The desk client: the one interface the console talks to.

The console never reaches a store or a plugin. It holds a ``DeskClient``:
in-process (``LocalDeskClient``, the embedded default) or, in team mode, a
websocket client to a hub. Both satisfy this protocol and pass the same tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from agentdesk.domain import Customer, Event, Priority, Status, Task
from agentdesk.plugin import Capabilities, HealthState

if TYPE_CHECKING:
    from agentdesk.search.reader import SearchPage


class DeskError(Exception):
    """A command the desk refused; the message is meant for the agent."""


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel instance as the console shows it."""

    name: str
    plugin: str
    capabilities: Capabilities
    state: HealthState = HealthState.STARTING
    detail: str = ""
    last_error: str | None = None
    next_retry_at: float | None = None
    restarts: int = 0

    @property
    def kind(self) -> str:
        return self.capabilities.kind


@dataclass(slots=True)
class Update:
    """What changed in one committed batch (or a health change, seq unchanged).

    ``reset`` means the subscriber fell too far behind: reload a snapshot.
    ``notices`` are sentences worth a toast ("task #1042 assigned to you").
    """

    seq: int
    tasks: list[Task] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    channels: list[ChannelStatus] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    #: Notices for one agent only: (agent, sentence). A client moves its own
    #: into ``notices`` and drops the others.
    targeted: list[tuple[str, str]] = field(default_factory=list)
    #: Customers typing in real-time channels: task id -> typing or stopped.
    typing: dict[str, bool] = field(default_factory=dict)
    reset: bool = False


@dataclass(slots=True)
class Snapshot:
    """The state a console starts from: open and pending tasks, and channels."""

    seq: int
    tasks: list[Task]
    channels: list[ChannelStatus]


@dataclass(slots=True)
class TimelineEntry:
    """One task of a customer with its events, for the cross-channel timeline."""

    task: Task
    events: list[Event]


@runtime_checkable
class DeskClient(Protocol):
    """Reads, commands and the live update stream of one desk, for one agent."""

    #: The agent this client acts for.
    me: str

    async def snapshot(self) -> Snapshot: ...

    def subscribe(self, since: int) -> AsyncIterator[Update]:
        """Updates after sequence ``since``, then live ones, until the client closes."""

    async def get_task(self, task_id: str) -> Task | None: ...
    async def task_by_number(self, number: int) -> Task | None: ...
    async def thread(self, task_id: str) -> list[Event]:
        """A task's events in time order."""

    async def customer(self, customer_id: str) -> Customer | None: ...
    async def timeline(self, customer_id: str) -> list[TimelineEntry]:
        """Every task of a customer with its events, newest task first."""

    async def search(self, query: str, *, limit: int = 50, offset: int = 0) -> SearchPage: ...
    async def channels(self) -> list[ChannelStatus]: ...

    # Commands. Each returns the changed object or raises DeskError.
    async def reply(self, task_id: str, text: str) -> Event: ...
    async def note(self, task_id: str, text: str) -> Event: ...
    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None = None
    ) -> Task: ...
    async def assign(self, task_id: str, assignee: str | None) -> Task: ...
    async def transfer(
        self, task_id: str, *, assignee: str | None = None, team: str | None = None, note: str = ""
    ) -> Task: ...
    async def handoff(
        self, task_id: str, *, to_channel: str, to_identity: str, message: str | None = None
    ) -> Task: ...
    async def set_priority(self, task_id: str, priority: Priority) -> Task: ...
    async def set_tags(self, task_id: str, tags: list[str]) -> Task: ...
    async def mark_read(self, task_id: str) -> None: ...
    async def typing(self, task_id: str, typing: bool) -> None:
        """The agent is writing a reply on the task (or stopped): shown to the
        customer where the channel can (best effort)."""
        ...

    async def merge_customers(self, keep_id: str, merge_id: str) -> Customer: ...

    async def close(self) -> None: ...


@runtime_checkable
class DeskConnector(Protocol):
    """Opens a desk client inside the running event loop and closes it after.

    The console calls ``open`` once its loop runs (an embedded desk starts its
    channels and HTTP server there) and ``close`` when it quits.
    """

    async def open(self) -> DeskClient: ...
    async def close(self) -> None: ...
