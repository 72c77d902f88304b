"""The reads of ``TinyStore``: memory first, then the part of the files that holds
the answer (a timeline, a customer, a history shard), loaded on demand."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from agentdesk.domain import Customer, Event, Identity, Message, OutboxEntry, Status, Task

from .batch_codec import decode_batch
from .hot import Hot
from .journal import Journal
from .protocol import Batch, StoreStats
from .shards import History
from .state import sort_tasks_by_age


class TinyReads:
    """Read methods of the ``Store`` protocol over hot data and history."""

    _hot: Hot
    _history: History
    _journal: Journal
    _seq: int
    # Held while memory changes or a lazy part loads.
    _state_lock: threading.RLock

    # --- customers --------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer | None:
        customer = self._hot.state.customers.get(customer_id)
        if customer is None:
            with self._state_lock:
                customer = self._hot.customers.get(customer_id)
        return customer

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        """The (unmerged) customer who owns this normalised identity."""
        with self._state_lock:
            return self._hot.customers.by_identity(identity)

    def customers(self) -> Iterator[Customer]:
        with self._state_lock:
            return iter(self._hot.customers.all())

    # --- tasks ------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        task = self._hot.state.tasks.get(task_id)
        if task is None and task_id in self._history.month_of:
            with self._state_lock:
                return self._hot.state.tasks.get(task_id) or self._history.get_task(task_id)
        return task

    def task_by_number(self, number: int) -> Task | None:
        task = self._hot.state.task_by_number(number)
        if task is None:
            task_id = self._history.id_by_number(number)
            if task_id is not None:
                return self.get_task(task_id)
        return task

    def tasks(self, statuses: Iterable[Status] | None = None) -> Iterator[Task]:
        """Tasks with one of ``statuses`` (all when None); closed ones load history."""
        wanted = list(Status) if statuses is None else list(dict.fromkeys(map(Status, statuses)))
        yield from self._hot.state.tasks_with(wanted)
        if Status.CLOSED in wanted:
            with self._state_lock:
                history = list(self._history.tasks())
            yield from history

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        tasks = self._hot.state.tasks_of_customer(customer_id)
        with self._state_lock:
            for task_id in self._history.ids_of_customer(customer_id):
                task = self._history.get_task(task_id)
                if task is not None:
                    tasks.append(task)
        return sort_tasks_by_age(tasks)

    # --- events -------------------------------------------------------------------------

    def get_event(self, event_id: str) -> Event | None:
        """An event of a hot task, or of a closed one whose shard is loaded."""
        with self._state_lock:
            event = self._hot.find_event(event_id)
            if event is None:
                for state in self._history.loaded_states():
                    event = state.events.get(event_id)
                    if event is not None:
                        break
        return event

    def events_of_task(self, task_id: str) -> list[Event]:
        with self._state_lock:
            if task_id not in self._hot.state.tasks:
                events = self._history.events_of_task(task_id)
                if events is not None:
                    return events
            return self._hot.events_of_task(task_id)

    def message_by_external_id(self, channel: str, external_id: str) -> Message | None:
        with self._state_lock:
            message = self._hot.find_message(channel, external_id)
            if message is None:
                for state in self._history.loaded_states():
                    message = state.message_by_external_id(channel, external_id)
                    if message is not None:
                        break
        return message

    def iter_events(self) -> Iterator[Event]:
        with self._state_lock:
            self._hot.decode_all()
        yield from self._hot.state.iter_events()
        yield from self._history.iter_events()

    # --- outbox, state, counters ------------------------------------------------------------

    def outbox(self) -> list[OutboxEntry]:
        """Outbox entries in the order they were first put."""
        return self._hot.state.outbox_entries()

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        return self._hot.state.get_state(namespace, key, default)

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._hot.state.meta.get(key, default)

    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        """Every plugin state value as (namespace, key, value), for export."""
        return self._hot.state.state_items()

    def meta_items(self) -> Iterator[tuple[str, Any]]:
        """Every counter and setting as (key, value), for export."""
        return iter(list(self._hot.state.meta.items()))

    def batches_since(self, seq: int) -> Iterator[tuple[int, Batch]] | None:
        last = self._seq
        if seq >= last:
            return iter(())
        try:
            records = [r for r in self._journal.read_after(seq) if r.seq <= last]
        except FileNotFoundError:  # a checkpoint dropped a segment while reading
            return None
        if not records or records[0].seq != seq + 1:
            return None
        return ((r.seq, decode_batch(r.body)) for r in records)

    def stats(self) -> StoreStats:
        with self._state_lock:
            state = self._hot.state
            by_status = {str(s): state.count_with(s) for s in Status}
            by_channel: dict[str, int] = {}
            for task in state.tasks.values():
                by_channel[task.channel] = by_channel.get(task.channel, 0) + 1
            closed, history_channels, history_events = self._history.counts()
            for channel, count in history_channels.items():
                by_channel[channel] = by_channel.get(channel, 0) + count
            by_status[str(Status.CLOSED)] += closed
            events = self._hot.event_count() + history_events
            customers = self._hot.customers.count()
        return StoreStats(customers, by_status, by_channel, events)
