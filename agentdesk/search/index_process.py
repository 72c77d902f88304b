"""The search index written by a process of its own, searched from this one.

Indexing a message costs about as much interpreter time as storing it, and
threads share one interpreter lock: a second process is what lets the index
use the second core. ``IndexProcess`` has the desk-facing surface of
``SearchIndex`` (``apply_many``, ``catch_up``, ``refresh``, ``search``,
``close``):

- ``apply_many`` queues the batches' JSON text (as the store wrote it) for
  a sender thread: the caller never waits for the index;
- ``search`` first asks the writer to commit everything sent so far (a
  round trip), then reads the file on a connection of its own, in one read
  transaction (SQLite's WAL lets a reader beside the writer): a search finds
  every batch applied before it;
- when the writer fails or dies, ``apply_many`` raises ``IndexWriterFailed``
  (the desk then calls ``catch_up(store)``), and ``search`` catches up
  itself: the file is brought level with the store in this process and a new
  writer starts.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from agentdesk.store.batch_codec import EncodedBatch, encode_batch_texts, object_text
from agentdesk.store.protocol import Batch, Store

from . import schema
from .index import SearchIndex
from .index_child import frame, read_frame
from .query import Query, parse_query
from .reader import Reader, SearchPage

log = logging.getLogger("agentdesk.search")

# How long a search waits for the writer to reach it before giving up.
SYNC_TIMEOUT = 60.0


class IndexWriterFailed(RuntimeError):
    """The index's writer process failed or stopped; call ``catch_up(store)``."""


class IndexProcess:
    """A ``SearchIndex`` whose writes run in a child process. Open with ``start``."""

    def __init__(self, path: Path, store: Store, warnings: list[str]) -> None:
        self.path = path
        self.store = store
        self.warnings = warnings
        self.failed: str | None = None
        self._tokens = itertools.count(1)
        self._answers: dict[int, tuple[threading.Event, list[Any]]] = {}
        self._answers_lock = threading.Lock()
        self._read_lock = threading.Lock()
        # Held while the writer is replaced: batches and searches wait for the new one.
        self._restart_lock = threading.RLock()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._child: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._db = schema.connect(path)
        self._reader = Reader(self._db)
        self._closed = False

    @classmethod
    def start(cls, path: Path, store: Store) -> IndexProcess:
        """Open the index at ``path``, bring it level with ``store`` here, and
        start its writer process."""
        path = Path(path)
        warnings = cls._catch_up_here(path, store)
        index = cls(path, store, warnings)
        index._spawn()
        try:
            index.refresh()  # the writer answers: it runs
        except IndexWriterFailed:
            index.close()
            raise
        return index

    @staticmethod
    def _catch_up_here(path: Path, store: Store) -> list[str]:
        index = SearchIndex.open(path)
        try:
            warnings = list(index.warnings)
            index.catch_up(store)
        finally:
            index.close()
        return warnings

    def _spawn(self) -> None:
        # Customers the new writer was given: the first it hears of each.
        self._customers_sent: set[str] = set()
        package_root = str(Path(__file__).resolve().parents[2])
        paths = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        # What the writer prints (a crash's traceback) goes to a file beside the index.
        with open(self.path.with_name("search-writer.log"), "ab") as errors:
            child = subprocess.Popen(
                [sys.executable, "-m", "agentdesk.search.index_child", str(self.path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
            )
        self._child = child
        self._outbox = queue.SimpleQueue()
        self.failed = None
        self._threads = [
            threading.Thread(target=self._send, args=(child, self._outbox), daemon=True),
            threading.Thread(target=self._receive, args=(child,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # --- writing ------------------------------------------------------------------

    def apply_many(
        self,
        batches: Sequence[tuple[int, Batch | EncodedBatch]],
        lookup_customer: Callable[[str], Any],
    ) -> None:
        """Queue store batches for the writer (in sequence order; returns at once).

        A batch the store committed encoded goes as the very text it wrote.
        """
        if not batches:
            return
        customers: dict[str, str] = {}
        bodies: list[tuple[int, str]] = []
        sent = self._customers_sent
        for seq, batch in batches:
            encoded = batch if isinstance(batch, EncodedBatch) else encode_batch_texts(batch)
            # A customer the writer has had (in a batch, or sent beside one)
            # is in the index: a later change of it comes in a batch.
            sent.update(c.id for c in encoded.copy.customers)
            for task in encoded.copy.tasks:
                if task.customer_id not in sent:
                    sent.add(task.customer_id)
                    customer = lookup_customer(task.customer_id)
                    if customer is not None:
                        customers[customer.id] = object_text(customer)
            bodies.append((seq, encoded.body))
        data = frame(msgspec.msgpack.encode(["apply", bodies, list(customers.values())]))
        with self._restart_lock:
            if self.failed is not None:
                raise IndexWriterFailed(self.failed)
            self._outbox.put(data)

    def refresh(self) -> None:
        """Have the writer commit and refresh everything sent so far."""
        self._sync()

    def _sync(self) -> None:
        """``refresh``, replacing a writer found dead (once): a search must not
        wait for the next commit to notice."""
        try:
            self._ask("sync")
        except IndexWriterFailed:
            with self._restart_lock:
                if self._closed:
                    raise
                log.warning("search index writer failed (%s); catching up", self.failed)
                self.catch_up(self.store)
            self._ask("sync")

    def catch_up(self, store: Store) -> int:
        """Stop the writer, bring the file level with ``store`` here, start a new one."""
        with self._restart_lock:
            return self._restart(store)

    def _restart(self, store: Store) -> int:
        before = self._stop_child()
        self.warnings.extend(self._catch_up_here(self.path, store))
        # A rebuild replaces the file: read the new one.
        with self._read_lock:
            self._db.close()
            self._db = schema.connect(self.path)
            self._reader = Reader(self._db)
        self._spawn()
        return max(0, store.seq - before) if before >= 0 else store.seq

    # --- reading ------------------------------------------------------------------

    def search(
        self,
        query: str | Query,
        *,
        me: str | None = None,
        now: float | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> SearchPage:
        """As ``SearchIndex.search``, once the writer holds everything sent so far."""
        parsed = parse_query(query) if isinstance(query, str) else query
        self._sync()
        with self._read_lock:
            # One snapshot for the count, the rows and their snippets.
            self._db.execute("BEGIN")
            try:
                return self._reader.search(
                    parsed,
                    me=me,
                    now=time.time() if now is None else now,
                    limit=limit,
                    offset=offset,
                )
            finally:
                self._db.execute("COMMIT")

    # --- the child ----------------------------------------------------------------

    def _ask(self, kind: str) -> list[Any]:
        if self._closed:
            raise IndexWriterFailed("the search index is closed")
        if self.failed is not None:
            raise IndexWriterFailed(self.failed)
        done, answer = self._request(kind)
        if not done.wait(SYNC_TIMEOUT):
            raise IndexWriterFailed(f"the index writer did not answer in {SYNC_TIMEOUT:.0f} s")
        if not answer:
            raise IndexWriterFailed(self.failed or "the index writer stopped")
        problem = answer[3]
        if problem:
            self.failed = problem
            raise IndexWriterFailed(problem)
        return answer

    def _send(
        self, child: subprocess.Popen[bytes], outbox: queue.SimpleQueue[bytes | None]
    ) -> None:
        assert child.stdin is not None
        try:
            while (data := outbox.get()) is not None:
                child.stdin.write(data)
                if outbox.empty():
                    child.stdin.flush()
            child.stdin.close()
        except (OSError, ValueError):
            self._lost(child)

    def _receive(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        while (payload := read_frame(child.stdout)) is not None:
            answer = msgspec.msgpack.decode(payload)
            with self._answers_lock:
                waiter = self._answers.pop(answer[1], None)
            if waiter is not None:
                waiter[1].extend(answer)
                waiter[0].set()
        self._lost(child)

    def _lost(self, child: subprocess.Popen[bytes]) -> None:
        """The writer's pipes closed: whoever still waits is told it stopped."""
        if child is self._child and self.failed is None and not self._closed:
            self.failed = "the index writer process stopped"
            log.error("%s", self.failed)
        with self._answers_lock:
            waiting = list(self._answers.values())
            self._answers.clear()
        for done, _ in waiting:
            done.set()

    def _request(self, kind: str) -> tuple[threading.Event, list[Any]]:
        """Send ``[kind, token]``; the event is set when the answer (or the
        writer's end, with no answer) arrives in the list."""
        token = next(self._tokens)
        done = threading.Event()
        answer: list[Any] = []
        with self._answers_lock:
            self._answers[token] = (done, answer)
        self._outbox.put(frame(msgspec.msgpack.encode([kind, token])))
        return done, answer

    def _stop_child(self) -> int:
        """Close the writer (waiting for it to finish); its last sequence number or -1."""
        child, self._child = self._child, None
        if child is None:
            return -1
        last = -1
        if child.poll() is None:  # still running: let it finish and say where it is
            done, answer = self._request("close")
            self._outbox.put(None)
            if done.wait(SYNC_TIMEOUT) and answer:
                last = int(answer[2])
            try:
                child.wait(SYNC_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        else:
            self._outbox.put(None)
        for thread in self._threads:
            thread.join(5)
        return last

    def close(self) -> None:
        """Let the writer finish what was sent, then stop it. Idempotent."""
        if self._closed:
            return
        self._stop_child()
        self._closed = True
        self._db.close()
