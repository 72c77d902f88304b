"""Filling an empty index from everything a store holds, closed history included."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from agentdesk.domain import Task
from agentdesk.store.protocol import Store

from . import lexicon
from .records import event_text
from .writer import IndexWriter

Progress = Callable[[int, int], None]

_BIG_LOG = 64 * 1024 * 1024


def db_path(db: sqlite3.Connection) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]


def _activity(task: Task) -> tuple[float, str]:
    return (task.updated_at, task.id)


class _Ticker:
    """Counts work done and reports it now and then."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress

    def __call__(self, count: int = 1) -> None:
        self.done += count
        if self.progress and (self.done % 5000 < count or self.done >= self.total):
            self.progress(min(self.done, self.total), self.total)


def load(db: sqlite3.Connection, store: Store, progress: Progress | None = None) -> int:
    """Load ``store`` into the empty index ``db`` in one transaction; return the
    sequence number it reflects."""
    seq = store.seq
    stats = store.stats()
    tasks = sum(stats.tasks_by_status.values())
    tick = _Ticker(stats.customers + 2 * tasks + stats.events, progress)
    writer = IndexWriter(db)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    try:
        for customer in store.customers():
            writer.put_customer(customer)
            tick()
        # Oldest activity first: task row order is then document row id order,
        # the order FTS5 likes best.
        for task in sorted(store.tasks(), key=_activity):
            writer.put_task(task, store.get_customer)
            tick()
        writer.put_texts(_texts(store, tick))
        before = tick.done
        writer.documents.build_all(lambda n: tick(before + n - tick.done))
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        lexicon.feed_everything(db)
        db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (seq,))
        db.execute("UPDATE meta SET value = 1 WHERE key = 'complete'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.execute("PRAGMA synchronous=NORMAL")
    # A big load went through the write-ahead log: fold it into the file and
    # give the log's space back.
    wal = Path(f"{db_path(db)}-wal")
    if wal.exists() and wal.stat().st_size > _BIG_LOG:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if progress:
        progress(tick.total, tick.total)
    return seq


def _texts(store: Store, tick: Callable[[], None]) -> Iterator[tuple[str, str, float, str]]:
    for event in store.iter_events():
        tick()
        text = event_text(event)
        if text:
            yield event.id, event.task_id, event.at, text
