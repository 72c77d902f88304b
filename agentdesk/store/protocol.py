"""The persistence contract the desk relies on.

A store holds customers, tasks, events, the outbox, plugin state and a few
counters. Reads come from memory (or from a shard loaded on demand); every
change goes through ``commit``, which applies a whole ``Batch`` atomically and
returns only once it is durable. The desk is the store's only writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentdesk.domain import Customer, Event, Identity, Message, OutboxEntry, Status, Task

if TYPE_CHECKING:
    from .batch_codec import EncodedBatch


@dataclass(slots=True)
class Batch:
    """Changes applied together: all of them are durable, or none.

    An object put with an id that exists replaces it. Events are appended, but
    an event put again with its id (an outbound message whose delivery state
    changed) replaces the earlier version.
    """

    customers: list[Customer] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    outbox_put: list[OutboxEntry] = field(default_factory=list)
    outbox_done: list[str] = field(default_factory=list)
    # (namespace, key, value); a value of None deletes the key.
    state: list[tuple[str, str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.customers
            or self.tasks
            or self.events
            or self.outbox_put
            or self.outbox_done
            or self.state
            or self.meta
        )


@dataclass(frozen=True, slots=True)
class StoreStats:
    customers: int
    tasks_by_status: dict[str, int]
    tasks_by_channel: dict[str, int]
    events: int


@runtime_checkable
class Store(Protocol):
    """What the desk needs from persistence. See ``TinyStore`` for the default."""

    @property
    def seq(self) -> int:
        """The sequence number of the last committed batch (0 for a new store)."""

    def commit(self, batch: Batch | EncodedBatch, *, sync: bool = True) -> int:
        """Apply ``batch`` atomically and durably; return its sequence number.

        ``batch`` may come encoded already (``encode_batch_texts``): a caller
        that hands the same text on (to the search index) encodes it once.

        With ``sync=False`` the batch is applied and written but may not be on
        disk until the next ``sync()`` or synced commit: a caller committing a
        group of changes acknowledges them only after that sync.
        """

    def sync(self) -> None:
        """Make every committed batch durable."""

    def close(self) -> None:
        """Checkpoint, release the lock, close files. Idempotent."""

    # customers
    def get_customer(self, customer_id: str) -> Customer | None: ...
    def customer_by_identity(self, identity: Identity) -> Customer | None:
        """The (unmerged) customer who owns this normalised identity."""

    def customers(self) -> Iterator[Customer]: ...

    # tasks
    def get_task(self, task_id: str) -> Task | None: ...
    def task_by_number(self, number: int) -> Task | None: ...
    def tasks(self, statuses: Iterable[Status] | None = None) -> Iterator[Task]:
        """Tasks with one of ``statuses`` (all when None). Open and pending come
        from memory; asking for closed ones may load history."""

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        """Every task of a customer, closed ones included, oldest first."""

    # events
    def get_event(self, event_id: str) -> Event | None: ...
    def events_of_task(self, task_id: str) -> list[Event]:
        """A task's events in time order (loads its history shard if needed)."""

    def message_by_external_id(self, channel: str, external_id: str) -> Message | None:
        """The message a channel already delivered under this id, if the store
        still knows it: exact for open and pending tasks and for history it
        has loaded; used to drop duplicates."""

    def iter_events(self) -> Iterator[Event]:
        """Every event, history included, for export and reindexing."""

    # outbox, plugin state, counters
    def outbox(self) -> list[OutboxEntry]: ...
    def get_state(self, namespace: str, key: str, default: Any = None) -> Any: ...
    def get_meta(self, key: str, default: Any = None) -> Any: ...
    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        """Every plugin state value as (namespace, key, value), for export."""

    def meta_items(self) -> Iterator[tuple[str, Any]]:
        """Every counter and setting as (key, value), for export."""

    def batches_since(self, seq: int) -> Iterator[tuple[int, Batch]] | None:
        """Committed batches after ``seq`` still in the journal, or None when
        the journal no longer reaches back that far (a checkpoint dropped it)."""

    def stats(self) -> StoreStats: ...
