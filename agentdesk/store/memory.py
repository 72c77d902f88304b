"""A store that keeps everything in memory and nothing on disk.

For tests and for trying the desk out. It behaves like the persistent store
(batches go through the same JSON form, so a value that could not be saved is
refused here too), but nothing survives the process.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator

from agentdesk.domain import Event, Message, Status, Task

from .batch_codec import EncodedBatch, decode_batch, encode_batch_texts
from .errors import StoreError
from .protocol import Batch, StoreStats
from .state import StateReads, StoreState


class MemoryStore(StateReads):
    """An in-memory ``Store``. ``keep_batches`` bounds what ``batches_since`` reaches."""

    def __init__(self, *, keep_batches: int = 10_000) -> None:
        self._state = StoreState()
        self._seq = 0
        self._log: deque[tuple[int, str]] = deque(maxlen=keep_batches)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def seq(self) -> int:
        return self._seq

    def sync(self) -> None:
        """Nothing to make durable: memory is all there is."""

    def commit(self, batch: Batch | EncodedBatch, *, sync: bool = True) -> int:
        """Apply ``batch``; an empty batch changes nothing and returns the current seq."""
        encoded = batch if isinstance(batch, EncodedBatch) else encode_batch_texts(batch)
        if not encoded.copy:
            return self._seq
        text, decoded = encoded.body, encoded.copy
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed; open it again to make changes")
            self._state.apply(decoded)
            self._seq += 1
            self._log.append((self._seq, text))
            return self._seq

    def close(self) -> None:
        self._closed = True

    # --- tasks and events -----------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        return self._state.tasks.get(task_id)

    def task_by_number(self, number: int) -> Task | None:
        return self._state.task_by_number(number)

    def tasks(self, statuses: Iterable[Status] | None = None) -> Iterator[Task]:
        return self._state.tasks_with(statuses)

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        return self._state.tasks_of_customer(customer_id)

    def get_event(self, event_id: str) -> Event | None:
        return self._state.events.get(event_id)

    def events_of_task(self, task_id: str) -> list[Event]:
        return self._state.events_of_task(task_id)

    def message_by_external_id(self, channel: str, external_id: str) -> Message | None:
        return self._state.message_by_external_id(channel, external_id)

    def iter_events(self) -> Iterator[Event]:
        return self._state.iter_events()

    def batches_since(self, seq: int) -> Iterator[tuple[int, Batch]] | None:
        with self._lock:
            if seq >= self._seq:
                return iter(())
            log = list(self._log)
        if not log or log[0][0] > seq + 1:
            return None
        return ((s, decode_batch(text)) for s, text in log if s > seq)

    def stats(self) -> StoreStats:
        return self._state.stats()
