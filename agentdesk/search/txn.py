"""The index's write transaction, held open across batches and committed in groups.

The index is derived from the store, so a commit is not needed to keep
anything safe: it only bounds what ``catch_up`` replays after a crash.
Committing a group of batches at once saves the commit and its page writes on
every message. What a group holds is visible to searches at once (they run on
the same connection); the sequence number of its last batch is written in the
same transaction, so a crash loses the whole group or none of it.

Longer groups write each page that many batches change (the ends of the
tables and their indexes, the word index's new segments) fewer times: going
from a quarter of a second to one second took about a fifth off the index's
cost per message, and replaying a second of batches after a crash takes
about a second.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

GROUP_BATCHES = 4096
GROUP_SECONDS = 1.0


class WriteGroup:
    def __init__(
        self,
        db: sqlite3.Connection,
        last_seq: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.seq = last_seq
        self._clock = clock
        # Writes held in memory until the group commits.
        self._before_commit = before_commit
        self._since = 0.0
        self._batches = 0

    def begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
            self._since = self._clock()
            self._batches = 0

    def done(self, seq: int, batches: int = 1) -> None:
        """Batches up to ``seq`` are applied; commit when the group is full or old enough."""
        self.seq = seq
        self._batches += batches
        if self._batches >= GROUP_BATCHES or self._clock() - self._since >= GROUP_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.db.in_transaction:
            self._before_commit()
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (self.seq,))
            self.db.execute("COMMIT")

    def rollback(self) -> int:
        """Drop the open group; return the last batch the file still holds."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        self.seq = int(row[0]) if row else 0
        return self.seq
