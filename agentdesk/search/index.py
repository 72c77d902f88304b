"""The search index: an SQLite FTS5 file beside the store, derived from it.

The desk calls ``apply_many`` (or ``apply``) after the store commits, so a
message is findable as soon as it is acknowledged. The file records the
sequence number of the last batch it holds in the same transaction as the
batch, so after a crash ``catch_up`` replays what is missing from the store's
journal (or rebuilds from the store when the journal no longer reaches back
that far).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path

from agentdesk.store.batch_codec import EncodedBatch
from agentdesk.store.protocol import Batch, Store

from . import rebuild, schema
from .consistency import compare
from .documents import Documents
from .group_writer import GroupWriter
from .query import Query, parse_query
from .reader import Reader, SearchHit, SearchPage
from .records import LookupCustomer
from .txn import WriteGroup
from .write_cache import WriteCache

__all__ = ["IndexBehind", "SearchHit", "SearchIndex", "SearchPage"]

Progress = Callable[[int, int], None]

# Changed tasks whose documents wait for a refresh before a write refreshes
# them itself: bounds the work left for the next search.
REFRESH_AT = 1024

# Batches ``catch_up`` replays per group.
CATCH_UP_GROUP = 256


class IndexBehind(RuntimeError):
    """``apply`` got a batch past the next one expected: call ``catch_up(store)``."""


class SearchIndex:
    """Full-text and filtered search over every task, closed history included.

    Thread-safe: one lock serialises writes and searches on the connection.
    """

    def __init__(self, path: Path, opened: schema.OpenedFile) -> None:
        self.path = path
        self.warnings: list[str] = opened.warnings
        # Set when the file was missing, damaged or half built: call catch_up.
        self.needs_rebuild = opened.needs_rebuild
        self.last_seq = opened.last_seq
        self._lock = threading.RLock()
        self._closed = False
        self._use(opened.db)

    def _use(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._reader = Reader(db)
        self._cache = WriteCache()
        self._writes = WriteGroup(
            db, self.last_seq, before_commit=lambda: self._cache.grams.write(db)
        )

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """Open (or create) the index at ``path``. Never fails on a damaged file:
        it is replaced by an empty one, with a message in ``warnings``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path, schema.open_file(path))

    # --- keeping up with the store ------------------------------------------

    def apply(self, seq: int, batch: Batch, lookup_customer: LookupCustomer) -> None:
        """Index the store batch numbered ``seq`` (a batch already held is skipped).

        Raises ``IndexBehind`` when batches before ``seq`` are missing.
        """
        self.apply_many([(seq, batch)], lookup_customer)

    def apply_many(
        self, batches: Sequence[tuple[int, Batch | EncodedBatch]], lookup_customer: LookupCustomer
    ) -> None:
        """Index consecutive store batches, numbered in ascending order, as one group.

        Batches already held are skipped; the rest must start right after
        ``last_seq`` and follow one another, or ``IndexBehind`` is raised
        before any is applied. The group costs a few statements however many
        batches it holds, and the last version of an object changed several
        times in it is the one indexed.
        """
        with self._lock:
            self._follow()
            todo = [
                (seq, batch.copy if isinstance(batch, EncodedBatch) else batch)
                for seq, batch in batches
                if seq > self.last_seq
            ]
            if not todo:
                return
            for expected, (seq, _) in enumerate(todo, self.last_seq + 1):
                if seq != expected:
                    raise IndexBehind(
                        f"the search index holds batches up to {expected - 1} and was given"
                        f" {seq}: catch up from the store first"
                    )
            self._writes.begin()
            try:
                documents = self._documents()
                writer = GroupWriter(self._db, self._cache, documents)
                writer.apply((batch for _, batch in todo), lookup_customer)
                if documents.dirty_count() >= REFRESH_AT:
                    documents.refresh()
                self.last_seq = todo[-1][0]
                self._writes.done(self.last_seq, len(todo))
            except BaseException:
                # The open group is lost with these batches; catch_up replays it.
                self._rollback()
                raise

    def _follow(self) -> None:
        # Between transactions another connection may have written the file.
        if not self._db.in_transaction and self._cache.follow(self._db):
            self.last_seq = self._writes.rollback()

    def _documents(self) -> Documents:
        return Documents(self._db, self._cache)

    def _rollback(self) -> None:
        """Drop the open write group, and what the cache knew of it."""
        self._cache.drop()
        self.last_seq = self._writes.rollback()

    def catch_up(self, store: Store, progress: Progress | None = None) -> int:
        """Bring the index level with ``store``; return how many batches it moved on.

        Replays the store's journal after ``last_seq``; rebuilds from the store
        when the file was replaced, is ahead of the store, or the journal does
        not reach back far enough.
        """
        with self._lock:
            before = self.last_seq
            batches = None
            if not self.needs_rebuild and self.last_seq <= store.seq:
                batches = store.batches_since(self.last_seq)
            if batches is None:
                self.rebuild(store, progress)
                return max(0, self.last_seq - before)
            target = store.seq
            batches = iter(batches)
            while group := list(islice(batches, CATCH_UP_GROUP)):
                self.apply_many(group, store.get_customer)
                if progress:
                    progress(self.last_seq - before, target - before)
            self.refresh()
            if progress:
                progress(self.last_seq - before, max(target, self.last_seq) - before)
            return self.last_seq - before

    def rebuild(self, store: Store, progress: Progress | None = None) -> None:
        """Recreate the index from everything in ``store``, closed history included."""
        with self._lock:
            self._cache.drop()
            try:
                self._writes.rollback()
                empty = self._is_empty()
            except sqlite3.Error:
                empty = False  # a damaged file: start a new one
            if not empty:
                self._db.close()
                self._use(schema.create(self.path))
            try:
                self.last_seq = rebuild.load(self._db, store, progress)
            except BaseException:
                self.needs_rebuild = True
                raise
            finally:
                self._cache.drop()
            self._writes.seq = self.last_seq
            self.needs_rebuild = False

    def _is_empty(self) -> bool:
        """True for a file that holds nothing yet (as ``open`` creates it)."""
        return not any(
            self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
            for table in ("task_keys", "customers", "dirty")
        )

    def refresh(self) -> None:
        """Bring the word index up to date with every change applied, and commit.

        Searches do it first; call it from an idle moment to keep the next
        search quick, and before the file is read from elsewhere.
        """
        with self._lock:
            self._follow()
            documents = self._documents()
            try:
                if documents.dirty_count():
                    self._writes.begin()
                    documents.refresh()
                self._writes.commit()
            except BaseException:
                self._rollback()
                raise

    # --- reading --------------------------------------------------------------

    def search(
        self,
        query: str | Query,
        *,
        me: str | None = None,
        now: float | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> SearchPage:
        """One page of the tasks matching ``query`` (text or parsed), best first.

        ``me`` is the agent ``assignee:me`` stands for; ``now`` anchors relative
        dates (``after:7d``). Raises ``QuerySyntaxError`` for a query it cannot read.
        """
        parsed = parse_query(query) if isinstance(query, str) else query
        with self._lock:
            self.refresh()
            return self._reader.search(
                parsed,
                me=me,
                now=time.time() if now is None else now,
                limit=limit,
                offset=offset,
            )

    def check(self, store: Store) -> list[str]:
        """Differences between the index and ``store``; an empty list means consistent."""
        with self._lock:
            self.refresh()
            problems = []
            if self.needs_rebuild:
                problems.append("the search index was replaced and has not been rebuilt yet")
            if self.last_seq != store.seq:
                problems.append(
                    f"the search index holds batches up to {self.last_seq},"
                    f" the store is at {store.seq}"
                )
            return problems + compare(self._db, store)

    def close(self) -> None:
        """Refresh, commit and close the file. Idempotent."""
        with self._lock:
            if self._closed:
                return
            try:
                self.refresh()
            except sqlite3.Error as exc:
                # What was not refreshed stays marked in the file for next time.
                self.warnings.append(f"search index not refreshed before closing: {exc}")
            finally:
                self._db.close()
                self._closed = True
