"""Group commit: many threads commit, one sync serves them all.

A caller queues a ticket and waits. If no one is writing, it becomes the
leader: it takes the whole queue, writes it with one sync (through the
``write`` callback), wakes the others, and runs ``after`` (a checkpoint when
one is due) before giving up the role. Callers that arrive meanwhile queue up
for the next leader. ``exclusive`` takes the leader role for work that must
not run beside a write (a checkpoint, closing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import StoreError


@dataclass(slots=True)
class Ticket:
    """One caller's batch (and what it needs written) waiting in the queue."""

    batch: Any
    encoded: Any
    seq: int = 0
    error: BaseException | None = None
    done: bool = False
    # False: written now, made durable by a later sync (see ``Store.commit``).
    sync: bool = True

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done = True


class GroupCommit:
    """Serialises writers; see the module docstring."""

    def __init__(
        self,
        write: Callable[[list[Ticket]], None],
        after: Callable[[], None],
        refusal: Callable[[], StoreError | None],
    ) -> None:
        self._write = write
        self._after = after
        self._refusal = refusal
        self._cv = threading.Condition()
        self._queue: list[Ticket] = []
        self._leader = False

    @property
    def waiting(self) -> int:
        """How many tickets wait for the next leader."""
        return len(self._queue)

    def submit(self, ticket: Ticket) -> None:
        """Queue ``ticket`` and return once it is written (or has failed)."""
        with self._cv:
            self._queue.append(ticket)
            while not ticket.done:
                refusal = self._refusal()
                if refusal is not None:
                    self._queue.remove(ticket)
                    ticket.fail(refusal)
                elif self._leader:
                    self._cv.wait()
                else:
                    self._lead()

    def _lead(self) -> None:
        """Write the queue (called holding the condition, which it releases meanwhile)."""
        self._leader = True
        group, self._queue = self._queue, []
        self._cv.release()
        try:
            self._write(group)
            with self._cv:
                self._cv.notify_all()  # the written ones may go; the leader goes on
            self._after()
        finally:
            self._cv.acquire()
            self._leader = False
            self._cv.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the leader role: no write runs until the block ends."""
        with self._cv:
            while self._leader:
                self._cv.wait()
            self._leader = True
        try:
            yield
        finally:
            with self._cv:
                self._leader = False
                self._cv.notify_all()
