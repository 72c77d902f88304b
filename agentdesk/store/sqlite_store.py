"""The embedded store: one SQLite file in WAL mode, with its search index inside.

``agentdesk.sqlite`` holds every object as its JSON document beside the
columns that are filtered and sorted (``migrations/``), and the search index
(``search/fts_writer.py``), written in the same transactions. A change is
acknowledged once its transaction is committed with ``synchronous=FULL``: in
the write-ahead log and synced. SQLite checkpoints the log into the file as it
grows, on the committing thread (the store's own, never the event loop).

Opened for writing, the store holds ``LOCK`` (one writing process); opened
``read_only`` it takes no lock and reads what writers have committed.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentdesk.domain import Customer, Event, Task
from agentdesk.domain.codec import CodecError, decode, encode, encode_value
from agentdesk.search.fts_writer import IndexWriter
from agentdesk.search.records import event_text

from . import migrate
from .errors import DuplicateKey, StoreConflict, StoreDamaged, StoreError
from .lock import StoreLock
from .protocol import FIRST_TASK_NUMBER, Batch, inbound_key
from .sqlite_reads import SqliteReads

log = logging.getLogger("agentdesk.store")

FILE_NAME = "agentdesk.sqlite"


class SqliteStore(SqliteReads):
    """The ``Store`` on SQLite. Use it from one thread at a time."""

    def __init__(self, db: sqlite3.Connection, path: Path, lock: StoreLock | None) -> None:
        self._db = db
        self.path = path
        self._lock = lock
        self._index = IndexWriter(db)
        self._seq = int(self._meta("seq", 0))
        self._in_group = False
        self.warnings: list[str] = []

    # --- opening and closing -----------------------------------------------------

    @classmethod
    def open(cls, directory: Path, *, read_only: bool = False) -> SqliteStore:
        """Open (or create, unless ``read_only``) the store in ``directory``."""
        directory = Path(directory)
        path = directory / FILE_NAME
        if read_only:
            if not path.exists():
                cls.open(directory).close()  # a new, empty store, as a writer would make it
            with _named(path):
                db = _connect(f"file:{path}?mode=ro", uri=True)
                db.execute("PRAGMA query_only = 1")
                return cls(db, path, None)
        _refuse_other_layouts(directory, path)
        directory.mkdir(parents=True, exist_ok=True)
        lock = StoreLock.acquire(directory)
        try:
            # Before connecting, which makes a new log if there is none.
            had_log = Path(f"{path}-wal").exists()
            with _named(path):
                db = _open_file(path)
                migrate.upgrade(db, str(directory))
                store = cls(db, path, lock)
            store._check_log(had_log, lock.acknowledged)
            return store
        except BaseException:
            lock.release()
            raise

    def _check_log(self, had_log: bool, acknowledged: int) -> None:
        if self._seq >= acknowledged:
            return
        wal = Path(f"{self.path}-wal")
        if not had_log:
            raise StoreDamaged(
                f"{wal} is missing: it held changes up to {acknowledged} that were"
                f" acknowledged, and {self.path} alone goes up to {self._seq}. Put the file"
                " back, or restore the store from a backup or an export"
            )
        raise StoreDamaged(
            f"{wal} holds changes up to {self._seq}, but changes up to {acknowledged} were"
            " acknowledged: it was replaced or cut short. Put the right file back, or"
            " restore the store from a backup or an export"
        )

    def reader(self) -> SqliteStore:
        """A second, read-only connection to the same store, for a long read
        on another thread while this one goes on writing (WAL readers see the
        last commit before their first read)."""
        return SqliteStore.open(self.path.parent, read_only=True)

    def close(self) -> None:
        """Checkpoint the log into the file and release the store. Idempotent."""
        if self._db is None:
            return
        db, self._db = self._db, None  # type: ignore[assignment]
        try:
            if self._lock is not None:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
            if self._lock is not None:
                self._lock.release()

    @property
    def seq(self) -> int:
        return self._seq

    # --- writing -------------------------------------------------------------------

    @contextlib.contextmanager
    def group(self) -> Iterator[SqliteStore]:
        """One transaction for several batches (``apply``), committed at the end."""
        if self._db is None:
            raise StoreError("the store is closed; open it again to make changes")
        if self._lock is None:
            raise StoreError("the store was opened read-only")
        if self._in_group:
            raise StoreError("a write group is already open on this store")
        start = self._seq
        self._in_group = True
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self._index.finish()
            if self._seq != start:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (self._seq,))
            self._db.execute("COMMIT")
            if self._seq != start:
                self._lock.record(self._seq)
        except BaseException as exc:
            self._rollback(start)
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc) from exc
            raise
        finally:
            self._in_group = False

    def _rollback(self, seq: int) -> None:
        self._seq = seq
        self._index.reset()
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def commit(self, batch: Batch) -> int:
        # The batch alone in its transaction: no savepoint, a failure rolls back all.
        with self.group():
            return self._apply(batch, alone=True)

    def apply(self, batch: Batch) -> int:
        """Apply ``batch`` inside the open group; on error it alone is undone."""
        if not self._in_group:
            raise StoreError("apply() belongs inside group(); use commit() for one batch")
        return self._apply(batch, alone=False)

    def _apply(self, batch: Batch, *, alone: bool) -> int:
        if not batch:
            return self._seq
        given = [(task, task.number, task.version) for task in batch.tasks]
        if not alone:
            self._db.execute("SAVEPOINT batch")
        try:
            seq = self._write(batch)
        except BaseException as exc:
            if not alone:
                self._db.execute("ROLLBACK TO batch")
                self._db.execute("RELEASE batch")
            self._index.forget_cached()
            for task, number, version in given:  # as the caller planned them, to retry
                task.number, task.version = number, version
            if isinstance(exc, CodecError):
                raise StoreError(str(exc)) from None
            if isinstance(exc, sqlite3.IntegrityError):
                raise _conflict(exc) from exc
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc) from exc
            raise
        if not alone:
            self._db.execute("RELEASE batch")
        self._seq = seq
        return seq

    def _write(self, batch: Batch) -> int:
        seq = self._seq + 1
        for customer in {c.id: c for c in batch.customers}.values():
            self._put_customer(customer, seq)
        rids = {
            task.id: self._put_task(task, seq) for task in {t.id: t for t in batch.tasks}.values()
        }
        for event in {e.id: e for e in batch.events}.values():
            rid = rids.get(event.task_id)
            if rid is None:
                rid = rids[event.task_id] = self._task_rid(event)
            self._put_event(event, rid, seq)
        db = self._db
        for entry in batch.outbox_put:
            db.execute(
                "INSERT OR REPLACE INTO outbox(key, event_id, doc) VALUES (?,?,?)",
                (entry.key, entry.event_id, encode(entry)),
            )
        for key in batch.outbox_done:
            db.execute("DELETE FROM outbox WHERE key = ?", (key,))
        db.executemany(
            "INSERT INTO activity(seq, at, agent, doc) VALUES (?,?,?,?)",
            [(seq, record.at, record.agent, encode(record)) for record in batch.activity],
        )
        for namespace, key, value in batch.state:
            if value is None:
                db.execute(
                    "DELETE FROM plugin_state WHERE namespace = ? AND key = ?", (namespace, key)
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO plugin_state VALUES (?,?,?)",
                    (namespace, key, _state_value(namespace, key, value)),
                )
        return seq

    def _task_rid(self, event: Event) -> int:
        row = self._db.execute("SELECT rid FROM tasks WHERE id = ?", (event.task_id,)).fetchone()
        if row is None:
            raise StoreError(
                f"event {event.id} belongs to task {event.task_id}, which the store does"
                " not hold: put the task in the same batch"
            )
        return row[0]

    def _put_customer(self, customer: Customer, seq: int) -> None:
        doc = encode(customer)
        rid = self._db.execute(
            "INSERT INTO customers(id, seq, doc) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE"
            " SET seq = excluded.seq, doc = excluded.doc RETURNING rid",
            (customer.id, seq, doc),
        ).fetchone()[0]
        self._db.execute("DELETE FROM identities WHERE customer_rid = ?", (rid,))
        if customer.merged_into is None:
            self._db.executemany(
                "INSERT OR REPLACE INTO identities VALUES (?,?,?)",
                [(i.kind, i.value, rid) for i in customer.identities],
            )
        self._index.put_customer(customer)

    def _put_task(self, task: Task, seq: int) -> int:
        """Write a task: new at version 0, else only over the version it was read at."""
        planned = task.version
        if planned == 0:
            if not task.number:
                task.number = self._next_number()
            task.version = 1
            rid = self._db.execute(
                "INSERT INTO tasks(id, number, version, seq, status, customer_id, channel,"
                " created_at, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                (task.id, task.number, 1, seq, *_task_columns(task), encode(task)),
            ).lastrowid
        else:
            task.version = planned + 1
            row = self._db.execute(
                "UPDATE tasks SET number = ?, version = ?, seq = ?, status = ?, customer_id = ?,"
                " channel = ?, created_at = ?, doc = ? WHERE id = ? AND version = ? RETURNING rid",
                (task.number, task.version, seq, *_task_columns(task), encode(task), task.id,
                 planned),
            ).fetchone()  # fmt: skip
            if row is None:
                raise self._version_conflict(task, planned)
            rid = row[0]
        self._index.put_task(task, rid, new=planned == 0)  # type: ignore[arg-type]
        return rid  # type: ignore[return-value]

    def _version_conflict(self, task: Task, planned: int) -> StoreConflict:
        row = self._db.execute("SELECT version FROM tasks WHERE id = ?", (task.id,)).fetchone()
        if row is None:
            return StoreConflict(
                f"task {task.id} was planned on version {planned}, but the store does not hold it"
            )
        return StoreConflict(
            f"task #{task.number} changed since this change was planned (version {row[0]},"
            f" planned on {planned}): read it again and retry"
        )

    def _next_number(self) -> int:
        (top,) = self._db.execute("SELECT max(number) FROM tasks").fetchone()
        return FIRST_TASK_NUMBER if top is None else top + 1

    def _put_event(self, event: Event, task_rid: int, seq: int) -> None:
        text = event_text(event)
        values = (
            seq,
            event.at,
            getattr(event, "channel", None),
            getattr(event, "external_id", None),
            inbound_key(event),
            text,
            encode(event),
        )
        try:
            event_rid = self._db.execute(
                "INSERT INTO events(task_rid, id, seq, at, channel, external_id, inbound_key,"
                " text, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                (task_rid, event.id, *values),
            ).lastrowid
            inserted = True
        except sqlite3.IntegrityError:
            # An event written again (a reply's delivery moved on): in place.
            row = self._db.execute(
                "SELECT rid, task_rid FROM events WHERE id = ?", (event.id,)
            ).fetchone()
            if row is None:
                raise  # another key: a duplicate of what the channel delivered
            if row[1] != task_rid:
                raise StoreError(f"event {event.id} already belongs to another task") from None
            self._index.before_event_update(task_rid)
            event_rid, inserted = row[0], False
            self._db.execute(
                "UPDATE events SET seq = ?, at = ?, channel = ?, external_id = ?,"
                " inbound_key = ?, text = ?, doc = ? WHERE rid = ?",
                (*values, event_rid),
            )
        self._index.event_written(
            task_rid,  # type: ignore[arg-type]
            event_rid,  # type: ignore[arg-type]
            text,
            (event.at, event.id),
            inserted=inserted,
        )

    # --- maintenance -----------------------------------------------------------------

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the search index from the data; returns how many tasks it holds."""
        total = self._db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        with self.group():
            tasks = self._db.execute("SELECT rid, doc FROM tasks ORDER BY rid")
            self._index.rebuild(
                self.customers(),
                ((rid, decode(Task, doc)) for rid, doc in tasks),
                (lambda done: progress(done, total)) if progress else None,
            )
        return total

    def integrity_check(self) -> list[str]:
        """What SQLite's own checks find wrong with the file (an empty list: nothing)."""
        rows = [row[0] for row in self._db.execute("PRAGMA integrity_check")]
        problems = [] if rows == ["ok"] else rows
        # FTS5 takes its own check as a write: on a connection of its own (the
        # store may be read-only), in a transaction that is rolled back.
        db = _connect(str(self.path))
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO docs(docs, rank) VALUES ('integrity-check', 0)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"search index: {exc} (run `agentdesk reindex`)")
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            db.close()
        return problems

    def _meta(self, key: str, default: Any) -> Any:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:
            return default
        return default if row is None else row[0]


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly. The desk confines
    # the store to one thread at a time, not always the one that opened it.
    db = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 5000")
    if not uri:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA cache_size = -65536")
    db.execute("PRAGMA temp_store = MEMORY")
    return db


def _open_file(path: Path) -> sqlite3.Connection:
    db = None
    try:
        db = _connect(str(path))
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise StoreDamaged(
            f"{path} is damaged ({exc}): restore it from a backup, or move it away and"
            " `agentdesk import` an export"
        ) from None


def _refuse_other_layouts(directory: Path, path: Path) -> None:
    if path.exists() or not directory.exists():
        return
    if (directory / "manifest.json").exists():
        raise StoreDamaged(
            f"{directory} holds a store in the format of agentdesk 0.1 (journal files): run"
            " `agentdesk export backup.jsonl` with that version, then `agentdesk import"
            " backup.jsonl` into a new store with this one"
        )
    if Path(f"{path}-wal").exists():
        raise StoreDamaged(f"{path} is missing, but its write-ahead log is there")


def _task_columns(task: Task) -> tuple:
    return (str(task.status), task.customer_id, task.channel, task.created_at)


def _state_value(namespace: str, key: str, value: object) -> bytes:
    try:
        return encode_value(value)
    except CodecError as exc:
        raise StoreError(f"plugin state {namespace}/{key}: {exc}") from None


def _conflict(exc: sqlite3.IntegrityError) -> StoreConflict:
    text = str(exc)
    if "events.channel, events.inbound_key" in text:
        return DuplicateKey("the channel already delivered this message")
    if "tasks.number" in text:
        return StoreConflict("another task already has this number")
    if "tasks.id" in text:
        return StoreConflict("the task was planned as new, but the store holds it already")
    return StoreConflict(f"the change conflicts with what the store holds ({text})")


def _store_error(exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "full" in text:
        return StoreError("the disk is full: this change was NOT saved")
    return StoreError(f"the store could not save this change: {text}")


@contextlib.contextmanager
def _named(path: Path) -> Iterator[None]:
    """SQLite's own complaint about a file that is not a database, with its name."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(
            f"{path}: {exc}: not an agentdesk store, or a damaged one. Move it away, or"
            " restore the store from a backup or an export"
        ) from None
