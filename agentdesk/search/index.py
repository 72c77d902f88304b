"""The search index: an SQLite FTS5 file beside the store, derived from it.

The desk calls ``apply`` after every store commit, so a message is findable
as soon as it is acknowledged. The file records the sequence number of the
last batch it holds in the same transaction as the batch, so after a crash
``catch_up`` replays what is missing from the store's journal (or rebuilds
from the store when the journal no longer reaches back that far).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentdesk.domain import Task
from agentdesk.store.protocol import Batch, Store

from . import schema
from .consistency import compare
from .pager import Pager
from .plan import build_plan
from .query import Query, parse_query
from .snippet import Segments, Snippets
from .writer import IndexWriter, LookupCustomer, event_text

Progress = Callable[[int, int], None]

MAX_PAGE = 1000
# A from: fragment matching more customers than this is tested on task rows.
MAX_LISTED_CUSTOMERS = 500
# Batches replayed per transaction when catching up.
_CATCH_UP_CHUNK = 500
# Changed tasks whose documents wait for a refresh before a write refreshes
# them itself: bounds the work left for the next search.
REFRESH_AT = 128


def _activity(task: Task) -> tuple[float, str]:
    return (task.updated_at, task.id)


class IndexBehind(RuntimeError):
    """``apply`` got a batch past the next one expected: call ``catch_up(store)``."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    task_id: str
    number: int
    status: str
    channel: str
    channel_kind: str
    customer_id: str
    customer_name: str
    subject: str
    assignee: str | None
    last_activity: float
    # The best matching text around the matched words; True marks a matched word.
    snippet: Segments
    # Higher is more relevant (0.0 when the query has no words).
    score: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    # Matching tasks; past pager.COUNT_CAP only a lower bound ("10,000+").
    total: int
    offset: int
    # Where the next page starts; None on the last page.
    next_offset: int | None
    total_exact: bool = True


_HIT_COLUMNS = (
    "t.rid, t.id, t.number, t.status, t.channel, t.channel_kind, t.customer_id,"
    " CASE WHEN t.customer_name != '' THEN t.customer_name ELSE"
    " (SELECT name FROM customers WHERE rid = t.customer_rid) END,"
    " t.subject, t.assignee, t.last_activity, t.preview"
)


class SearchIndex:
    """Full-text and filtered search over every task, closed history included."""

    def __init__(self, path: Path, opened: schema.OpenedFile) -> None:
        self.path = path
        self._db = opened.db
        self.warnings: list[str] = opened.warnings
        # Set when the file was missing, damaged or half built: call catch_up.
        self.needs_rebuild = opened.needs_rebuild
        self.last_seq = opened.last_seq
        self._lock = threading.RLock()
        self._snippets = Snippets(self._db)
        self._closed = False

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
        with self._lock:
            if seq <= self.last_seq:
                return
            if seq != self.last_seq + 1:
                raise IndexBehind(
                    f"the search index holds batches up to {self.last_seq} and was given"
                    f" {seq}: catch up from the store first"
                )
            self._db.execute("BEGIN")
            try:
                writer = IndexWriter(self._db)
                writer.apply(batch, lookup_customer)
                if writer.dirty_count() >= REFRESH_AT:
                    writer.refresh()
                self._set_last_seq(seq)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.last_seq = seq

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
            writer = IndexWriter(self._db)
            pending = 0
            self._db.execute("BEGIN")
            try:
                for seq, batch in batches:
                    if seq <= self.last_seq:
                        continue
                    writer.apply(batch, store.get_customer)
                    self.last_seq = seq
                    pending += 1
                    if pending >= _CATCH_UP_CHUNK:
                        writer.refresh()
                        self._set_last_seq(seq)
                        self._db.execute("COMMIT")
                        self._db.execute("BEGIN")
                        pending = 0
                        if progress:
                            progress(seq - before, target - before)
                writer.refresh()
                self._set_last_seq(self.last_seq)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self.last_seq = self._stored_last_seq()
                raise
            if progress:
                progress(self.last_seq - before, max(target, self.last_seq) - before)
            return self.last_seq - before

    def rebuild(self, store: Store, progress: Progress | None = None) -> None:
        """Recreate the index from everything in ``store``, closed history included."""
        with self._lock:
            if not self._is_empty():
                self._db.close()
                self._db = schema.create(self.path)
                self._snippets = Snippets(self._db)
            db = self._db
            db.execute("PRAGMA synchronous=OFF")
            seq = store.seq
            stats = store.stats()
            tasks = sum(stats.tasks_by_status.values())
            total = stats.customers + 2 * tasks + stats.events
            done = 0

            def tick(count: int = 1) -> None:
                nonlocal done
                done += count
                if progress and (done % 5000 < count or done == total):
                    progress(min(done, total), total)

            writer = IndexWriter(db, bulk=True)
            db.execute("BEGIN")
            try:
                for customer in store.customers():
                    writer.put_customer(customer)
                    tick()
                # Oldest activity first: task row order is then document order.
                for task in sorted(store.tasks(), key=_activity):
                    writer.put_task(task, store.get_customer)
                    tick()
                writer.put_texts(self._texts(store, tick))
                base = done
                writer.build_all_docs(lambda n: tick(base + n - done))
                db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
                self._set_last_seq(seq)
                db.execute("UPDATE meta SET value = 1 WHERE key = 'complete'")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self.needs_rebuild = True
                raise
            finally:
                db.execute("PRAGMA synchronous=NORMAL")
            self.last_seq = seq
            self.needs_rebuild = False
            if progress:
                progress(total, total)

    def _is_empty(self) -> bool:
        """True for a file that holds nothing yet (as ``open`` creates it)."""
        return not any(
            self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
            for table in ("task_keys", "customers", "dirty")
        )

    @staticmethod
    def _texts(store: Store, tick: Callable[[int], None]):
        for event in store.iter_events():
            tick()
            text = event_text(event)
            if text:
                yield event.id, event.task_id, event.at, text

    def _set_last_seq(self, seq: int) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (seq,))

    def _stored_last_seq(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        return int(row[0]) if row else 0

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
        limit = max(0, min(limit, MAX_PAGE))
        offset = max(0, offset)
        with self._lock:
            self.refresh()
            plan = build_plan(
                parsed,
                me=me,
                now=time.time() if now is None else now,
                find=self._find_customers,
            )
            total, exact, rows = Pager(self._db, plan).page(limit, offset)
            more = len(rows) > limit
            terms = [term for group in parsed.groups for term in group]
            hits = self._hits(rows[:limit], terms)
        end = offset + len(hits)
        if not exact:
            total = max(total, end + more)
        return SearchPage(hits, total, offset, end if more else None, exact)

    def refresh(self) -> None:
        """Bring the word index up to date with every change applied so far.

        Searches do it first; call it from an idle moment to keep the next
        search quick, and before reading the file from elsewhere.
        """
        with self._lock:
            writer = IndexWriter(self._db)
            if not writer.dirty_count():
                return
            self._db.execute("BEGIN")
            try:
                writer.refresh()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _find_customers(self, fragment: str) -> list[int] | None:
        if len(fragment) >= 3:
            sql = "SELECT rowid FROM customer_grams WHERE customer_grams MATCH ? LIMIT ?"
            param = '"' + fragment.replace('"', '""') + '"'
        else:
            sql = "SELECT rid FROM customers WHERE instr(search, ?) > 0 LIMIT ?"
            param = fragment
        rids = [rid for (rid,) in self._db.execute(sql, (param, MAX_LISTED_CUSTOMERS + 1))]
        return None if len(rids) > MAX_LISTED_CUSTOMERS else rids

    def _hits(self, rows: list[tuple[int, float]], terms: list) -> list[SearchHit]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            row[0]: row[1:]
            for row in self._db.execute(
                f"SELECT t.doc, {_HIT_COLUMNS} FROM tasks t WHERE t.doc IN ({marks})",
                [doc for doc, _ in rows],
            )
        }
        ordered = [(found[doc], score) for doc, score in rows if doc in found]
        snippets = self._snippets.for_tasks(
            [(row[0], row[8], row[-1]) for row, _ in ordered], terms
        )
        return [
            SearchHit(*row[1:-1], snippet=snippets[row[0]], score=score) for row, score in ordered
        ]

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
        """Refresh and close the file. Idempotent."""
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
