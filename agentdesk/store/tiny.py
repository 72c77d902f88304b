"""TinyStore: the embedded store, TinyDB files plus a journal.

Layout of a store directory::

    LOCK                       flock'ed by the process that has the store open
    manifest.json              format version, sequence number of the checkpoint
    journal-NNNNNN.jsonl       batches committed since the checkpoint
    hot/tasks.json             open, pending and recently closed tasks, outbox, state, meta
    hot/customers.json         customers
    hot/events-XX.json         events of the hot tasks, 64 buckets by task
    history/YYYY-MM.json       closed tasks and their events, by month of closing

``commit`` appends the batch to the journal and syncs it before it changes
memory or returns, so an acknowledged change survives any crash. Threads that
commit together share one sync (group commit). Checkpoints rewrite the
changed TinyDB files (see ``checkpoint``) and start a new journal segment.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from itertools import chain
from pathlib import Path

from agentdesk.domain import Status

from .batch_codec import EncodedBatch, decode_batch, encode_batch_texts
from .checkpoint import finish_renames, remove_stray_temporaries, write_checkpoint
from .durable import fsync_dir
from .errors import StoreError, StoreReadOnly
from .group_commit import GroupCommit, Ticket
from .hot import Hot, no_gc
from .journal import Journal, JournalCorrupt, Opener, OsJournalFile, encode_record
from .lock import LOCK_NAME, StoreLock
from .manifest import MANIFEST_NAME, Manifest, read_manifest, write_manifest
from .protocol import Batch
from .shards import History
from .tiny_reads import TinyReads

log = logging.getLogger("agentdesk.store")

DAY = 86_400.0


class TinyStore(TinyReads):
    """The default ``Store``. Open it with ``TinyStore.open(path)``."""

    def __init__(
        self,
        path: Path,
        lock: StoreLock,
        manifest: Manifest,
        journal: Journal,
        *,
        recent_days: int,
        checkpoint_every: int,
        checkpoint_bytes: int,
        checkpoint_growth: float,
        max_loaded_shards: int,
        clock: Callable[[], float],
    ) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._lock = lock
        self._manifest = manifest
        self._journal = journal
        self._hot = Hot(path / "hot")
        self._history = History(path / "history", max_loaded=max_loaded_shards)
        self._recent = recent_days * DAY
        self._checkpoint_every = checkpoint_every
        self._checkpoint_bytes = checkpoint_bytes
        self._checkpoint_growth = checkpoint_growth
        # The size of the hot files, as of the last checkpoint.
        self._hot_bytes = 0
        self._clock = clock
        self._seq = manifest.seq
        self._writers = GroupCommit(self._write_group, self._after_group, self._refusal)
        self._closed = False
        self._broken: StoreError | None = None
        self._retry_checkpoint_at = 0
        # Held while memory changes or a lazy part loads.
        self._state_lock = threading.RLock()

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        recent_days: int = 30,
        checkpoint_every: int = 10_000,
        checkpoint_bytes: int = 64 << 20,
        checkpoint_growth: float = 2.0,
        max_loaded_shards: int = 6,
        salvage: bool = False,
        opener: Opener = OsJournalFile,
        clock: Callable[[], float] = time.time,
    ) -> TinyStore:
        """Open (or create) the store at ``path``.

        A checkpoint runs once the journal holds ``checkpoint_every`` records
        and ``checkpoint_growth`` times the size of the hot files in bytes (so
        its cost, which grows with the hot data, stays in proportion to what
        it folds in), or at ``checkpoint_bytes`` whatever the size (which
        bounds the replay after a crash). ``salvage``: open a journal damaged before its
        end by keeping what precedes the damage. ``opener`` opens journal
        segments (a seam for tests).
        """
        path = Path(path)
        _make_directory(path)
        lock = StoreLock.acquire(path)
        try:
            manifest = _open_manifest(path)
            store = cls(
                path,
                lock,
                manifest,
                Journal(path, opener),
                recent_days=recent_days,
                checkpoint_every=checkpoint_every,
                checkpoint_bytes=checkpoint_bytes,
                checkpoint_growth=checkpoint_growth,
                max_loaded_shards=max_loaded_shards,
                clock=clock,
            )
            store._load(salvage=salvage)
        except BaseException:
            lock.release()
            raise
        return store

    def _load(self, *, salvage: bool) -> None:
        self._hot.load()
        self._hot_bytes = self._hot.size_on_disk()
        self._history.load_catalog()
        records = self._journal.recover(skip_through=self._manifest.seq, salvage=salvage)
        expected = self._manifest.seq + 1
        with no_gc():
            for record in records:
                if record.seq < expected:
                    continue
                if record.seq != expected:
                    message = (
                        f"the journal jumps from change {expected - 1} to {record.seq}; "
                        "changes in between are missing"
                    )
                    if not salvage:
                        raise JournalCorrupt(message + "; open with salvage to keep the rest")
                    self._warn(message + "; kept the changes before the gap")
                    break
                batch = decode_batch(record.body)
                self._pull_from_history(batch)
                self._hot.apply(batch)
                expected += 1
        self._seq = expected - 1
        for warning in self._journal.warnings:
            self._warn(warning)

    def _warn(self, message: str) -> None:
        log.warning("store %s: %s", self.path, message)
        self.warnings.append(message)

    @property
    def loaded_shards(self) -> list[str]:
        """The months of closed history currently in memory (for diagnostics)."""
        return self._history.loaded_months()

    # --- writing ----------------------------------------------------------------

    @property
    def seq(self) -> int:
        return self._seq

    def commit(self, batch: Batch | EncodedBatch, *, sync: bool = True) -> int:
        """Apply ``batch`` durably; an empty batch changes nothing and returns ``seq``.

        With ``sync=False`` the batch is written and applied, and becomes durable
        with the next synced commit or ``sync()``.
        """
        encoded = batch if isinstance(batch, EncodedBatch) else encode_batch_texts(batch)
        if not encoded.copy:
            return self._seq
        ticket = Ticket(encoded.copy, encoded, sync=sync)
        self._writers.submit(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.seq

    def sync(self) -> None:
        """Make every batch committed with ``sync=False`` durable.

        The disk's sync runs without the writer role, so commits from other
        threads go on meanwhile (the desk syncs on a worker thread).
        """
        with self._writers.exclusive():
            refusal = self._refusal()
            if refusal is not None:
                raise refusal
            pending = self._journal.detach_sync()
        if pending is None:
            return
        try:
            self._journal.sync_detached(*pending)
        except StoreError as exc:
            # Applied in memory but perhaps not on disk: nothing more may be acknowledged.
            self._broken = exc
            raise

    def _refusal(self) -> StoreError | None:
        if self._broken is not None:
            return self._broken
        if self._closed:
            return StoreError("the store is closed; open it again to make changes")
        return None

    def _after_group(self) -> None:
        if self._checkpoint_due():
            self._checkpoint_or_warn()

    def _write_group(self, group: list[Ticket]) -> None:
        ready: list[Ticket] = []
        try:
            with self._state_lock:
                for ticket in group:
                    try:
                        self._pull_from_history(ticket.batch)
                    except (OSError, StoreError, ValueError) as exc:
                        ticket.fail(
                            StoreError(f"could not read the history this change needs: {exc}")
                        )
                    else:
                        ready.append(ticket)
            if not ready:
                return
            first = self._seq + 1
            records = [
                encode_record(first + n, t.encoded.body.encode("utf-8"))
                for n, t in enumerate(ready)
            ]
            try:
                self._journal.append(records, sync=any(t.sync for t in ready))
            except StoreError as exc:
                if self._journal.broken:
                    self._broken = exc
                for ticket in ready:
                    ticket.fail(exc)
                return
            with self._state_lock:
                for n, ticket in enumerate(ready):
                    self._hot.apply(ticket.batch, ticket.encoded)
                    self._seq = ticket.seq = first + n
                    ticket.done = True
        except BaseException as exc:
            # A bug, not a disk problem: memory may no longer match the journal.
            self._broken = StoreError(
                f"the store stopped after an internal error ({exc!r}); reopen it"
            )
            for ticket in group:
                if not ticket.done:
                    ticket.fail(self._broken)
            raise

    def _pull_from_history(self, batch: Batch) -> None:
        """Bring the closed tasks a batch touches back into the hot data."""
        catalog = self._history.month_of
        if not catalog:
            return
        tasks = self._hot.state.tasks
        for task_id in chain((t.id for t in batch.tasks), (e.task_id for e in batch.events)):
            # Once moved, a task is hot: a second mention of it finds it there.
            if task_id not in tasks and task_id in catalog:
                moved = self._history.take(task_id)
                if moved is not None:
                    self._hot.add(moved)

    # --- checkpoints ------------------------------------------------------------------

    def _checkpoint_due(self) -> bool:
        journal = self._journal
        if journal.records_written < self._retry_checkpoint_at:
            return False
        if journal.bytes_written >= self._checkpoint_bytes:
            return True
        return (
            journal.records_written >= self._checkpoint_every
            and journal.bytes_written >= self._checkpoint_growth * self._hot_bytes
        )

    def _checkpoint_or_warn(self) -> None:
        try:
            self._checkpoint()
        except (OSError, StoreError) as exc:
            # Nothing is lost: the journal still holds every change. Try again later.
            self._retry_checkpoint_at = self._journal.records_written + max(
                1, self._checkpoint_every // 4
            )
            self._warn(f"could not write a checkpoint ({exc}); the journal keeps every change")

    def checkpoint(self) -> None:
        """Write a checkpoint now (after the commits in progress); raise if it fails.

        The store checkpoints by itself as its journal grows and on ``close``.
        """
        with self._writers.exclusive():
            refusal = self._refusal()
            if refusal is not None:
                raise refusal
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Rewrite the changed files and start a new journal segment (as the writer)."""
        with self._state_lock:
            self._move_old_closed_tasks()
            files = self._hot.files()
            files.update(self._history.dirty_files())
        self._manifest = write_checkpoint(self.path, self._manifest, self._seq, files)
        with self._state_lock:
            self._hot.written()
            self._history.written()
        # The segment just closed stays, so a reader that is a little behind
        # (the search index after a crash) can still catch up from it.
        for old in self._journal.start_segment()[:-1]:
            old.unlink()
        fsync_dir(self.path)
        self._retry_checkpoint_at = 0
        self._hot_bytes = self._hot.size_on_disk()

    def _move_old_closed_tasks(self) -> None:
        cutoff = self._clock() - self._recent
        waiting = {entry.task_id for entry in self._hot.state.outbox.values()}
        for task in list(self._hot.state.tasks_with([Status.CLOSED])):
            closed = task.closed_at or task.updated_at
            # A task with replies still to deliver stays hot, where the outbox finds them.
            if closed < cutoff and task.id not in waiting:
                moved = self._hot.take(task.id)
                if moved is not None:
                    self._history.put(moved)

    def close(self) -> None:
        """Checkpoint if anything changed, release the lock. Idempotent."""
        with self._writers.exclusive():
            if self._closed:
                return
            self._closed = True
            try:
                if self._broken is None and self._changed_since_checkpoint():
                    self._checkpoint_or_warn()
                    self._journal.sync()  # in case the checkpoint could not be written
            finally:
                self._journal.close()
                self._lock.release()

    def _changed_since_checkpoint(self) -> bool:
        return self._seq != self._manifest.seq or self._hot.dirty


def _make_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(
            f"{path} exists and is not a directory; choose another store path"
        ) from None
    except OSError as exc:
        raise StoreReadOnly(
            f"cannot create the store directory {path} ({exc.strerror}); choose a data "
            "directory agentdesk may write to"
        ) from None
    if not path.is_dir():
        raise StoreError(f"{path} exists and is not a directory; choose another store path")
    if not os.access(path, os.W_OK):
        raise StoreReadOnly(
            f"cannot write to the store at {path} (read-only); agentdesk needs write access to "
            "its store directory: fix its permissions or choose another data directory"
        )


def _open_manifest(path: Path) -> Manifest:
    manifest = read_manifest(path)
    if manifest is None:
        # What an interrupted creation may leave behind is fine.
        expected = {LOCK_NAME, MANIFEST_NAME + ".tmp", "hot", "history"}
        others = [p.name for p in path.iterdir() if p.name not in expected]
        if others:
            raise StoreError(
                f"{path} is not an agentdesk store (no {MANIFEST_NAME}, but it holds "
                f"{', '.join(sorted(others)[:5])}); choose an empty or new directory"
            )
        manifest = Manifest()
        write_manifest(path, manifest)
        for folder in ("hot", "history"):
            (path / folder).mkdir(exist_ok=True)
        return manifest
    finish_renames(path, manifest)
    remove_stray_temporaries(path, manifest, ("hot", "history"))
    return manifest
