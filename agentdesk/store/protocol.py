"""The persistence contract the desk relies on, whatever engine serves it.

A store holds customers, tasks, events, the outbox and plugin state, and the
search index over them. Reads are queries; every change is a ``Batch``
applied atomically. The store, not its caller, gives out what must be unique
across writers: sequence numbers, task numbers, task versions.

Stores are synchronous and thread-confined: each store is used by one
thread at a time (the desk gives it a thread of its own, so the event loop
never waits on a disk or a database server). A batch applied inside
``group()`` is visible at once to reads on the same store and durable when
the group ends; ``commit`` is a group of one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentdesk.api import SearchPage
from agentdesk.domain import (
    Activity,
    CallRecord,
    Customer,
    Direction,
    Event,
    Identity,
    Message,
    OutboxEntry,
    Status,
    SurveyAnswer,
    Task,
)
from agentdesk.query.terms import Query

#: The number the store gives the first task.
FIRST_TASK_NUMBER = 1001


def inbound_key(event: Event) -> str | None:
    """The key that makes an inbound message, call or survey answer unique on
    its channel: its external id. A store refuses a second event with the same
    key (``DuplicateKey``); outbound messages have none."""
    if isinstance(event, (CallRecord, SurveyAnswer)) or (
        isinstance(event, Message) and event.direction == Direction.INBOUND
    ):
        return event.external_id
    return None


@dataclass(slots=True)
class Batch:
    """Changes applied together: all of them, or none.

    An object put with an id that exists replaces it (events too: an outbound
    message whose delivery state changed is put again). A task with number 0
    is given the next task number. Each task must carry the version it was
    read at (0 for a new one); the store writes version + 1 into the objects
    it was given, along with the numbers it gave.
    """

    customers: list[Customer] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    outbox_put: list[OutboxEntry] = field(default_factory=list)
    outbox_done: list[str] = field(default_factory=list)
    # (namespace, key, value); a value of None deletes the key.
    state: list[tuple[str, str, Any]] = field(default_factory=list)
    # Agents' presence and focus changes, appended (never replaced).
    activity: list[Activity] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.customers
            or self.tasks
            or self.events
            or self.outbox_put
            or self.outbox_done
            or self.state
            or self.activity
        )


@dataclass(slots=True)
class Change:
    """What the change feed gives for one sequence number: the objects it
    wrote last, as they are now (an object written again later shows there)."""

    seq: int
    customers: list[Customer] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreStats:
    customers: int
    tasks_by_status: dict[str, int]
    tasks_by_channel: dict[str, int]
    events: int


class WriteGroup(Protocol):
    def apply(self, batch: Batch) -> int:
        """Apply ``batch`` inside the group; return its sequence number.

        Raises ``StoreConflict`` (a task changed since it was read, a
        duplicate inbound message) or ``StoreError``, having undone this
        batch alone: the group goes on.
        """


@runtime_checkable
class Store(Protocol):
    """What the desk needs from persistence (``SqliteStore``, ``MemoryStore``)."""

    @property
    def seq(self) -> int:
        """The sequence number of the last batch applied (0 for a new store)."""

    def group(self) -> AbstractContextManager[WriteGroup]:
        """A transaction holding several batches, durable when the block ends
        and rolled back whole if the block raises."""

    def commit(self, batch: Batch) -> int:
        """Apply ``batch`` durably on its own; return its sequence number."""

    def close(self) -> None:
        """Release the store. Idempotent."""

    # customers
    def get_customer(self, customer_id: str) -> Customer | None: ...
    def customer_by_identity(self, identity: Identity) -> Customer | None:
        """The (unmerged) customer who owns this normalised identity."""

    def customers(self) -> Iterator[Customer]: ...

    # tasks
    def get_task(self, task_id: str) -> Task | None: ...
    def task_by_number(self, number: int) -> Task | None: ...
    def tasks(self, statuses: Iterable[Status] | None = None) -> list[Task]:
        """Tasks with one of ``statuses`` (all when None)."""

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        """Every task of a customer, closed ones included, oldest first."""

    # events
    def get_event(self, event_id: str) -> Event | None: ...
    def events_of_task(self, task_id: str) -> list[Event]:
        """A task's events in time order."""

    def message_by_external_id(self, channel: str, external_id: str) -> Event | None:
        """The message or call a channel knows under this id, if any: what
        drops duplicates and threads replies."""

    def iter_events(self) -> Iterator[Event]:
        """Every event, task by task, for export."""

    def iter_activity(self, since: float = 0.0) -> Iterator[Activity]:
        """The agents' activity records from ``since`` on, in time order."""

    # outbox and plugin state
    def outbox(self) -> list[OutboxEntry]: ...
    def get_state(self, namespace: str, key: str, default: Any = None) -> Any: ...
    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        """Every plugin state value as (namespace, key, value)."""

    # the change feed, counts and search
    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        """The changes of the sequence numbers after ``seq``, at most ``limit``
        of them, oldest first."""

    def stats(self) -> StoreStats: ...

    def search(
        self, query: Query, *, me: str | None, now: float, limit: int = 50, offset: int = 0
    ) -> SearchPage:
        """One page of the tasks matching ``query``, best first (see docs/search.md)."""
