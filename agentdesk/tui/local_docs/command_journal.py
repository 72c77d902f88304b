"""The commands a console on a hub made and the hub has not answered, on disk.

A reply written while offline, in a console then closed or killed, is sent
at the console's next start: the journal is a TinyDB file beside the
console's documents (``journal.json``), one table per hub, each entry the
command's id and its request in the API's one codec. The hub applies an id
once, so sending an entry again is always safe.

Writes go to a thread of their own, in order, so the event loop never waits
for the disk; the journal in memory is what the client reads. A command made
in the instant before a crash may miss the file — it was sent at once if the
console was online, and its text is in the composer's draft otherwise.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import time
from pathlib import Path

from tinydb import Query, TinyDB

from agentdesk.api import requests as rq
from agentdesk.api.codec import decode_request, encode

from .database import set_aside
from .storage import AtomicJSONStorage, DamagedFile

log = logging.getLogger("agentdesk.console.journal")

JOURNAL_FILE = "journal.json"


def _table(hub: str) -> str:
    return "hub-" + hashlib.sha256(hub.encode()).hexdigest()[:16]


class DiskJournal:
    """A ``CommandJournal`` (see ``agentdesk.remote.journal``) kept in a file."""

    def __init__(self, path: Path, hub: str) -> None:
        self.path = path
        #: What went wrong reading the file, for the console to say once.
        self.warnings: list[str] = []
        self._calls: dict[str, rq.Request] = {}
        self._writer = concurrent.futures.ThreadPoolExecutor(1, "agentdesk-journal")
        self._db = self._open(path)
        self._entries = self._db.table(_table(hub))
        self._load()

    def _open(self, path: Path) -> TinyDB:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: replies
        db = TinyDB(path, storage=AtomicJSONStorage)
        try:
            db.tables()  # reads the file now, so damage shows here
        except (DamagedFile, OSError) as exc:
            aside = set_aside(path, time.time())
            self.warnings.append(
                f"{path} could not be read ({exc}); it is kept as {aside.name}, and "
                "commands queued in an earlier session were not sent."
            )
            db = TinyDB(path, storage=AtomicJSONStorage)
        return db

    def _load(self) -> None:
        entries = sorted(self._entries.all(), key=lambda e: float(e.get("at", 0)))
        for entry in entries:
            try:
                self._calls[str(entry["id"])] = decode_request(str(entry["request"]))
            except Exception as exc:  # another version's request: said, not sent
                self.warnings.append(f"a queued command could not be read ({exc}); not sent")
                self._writer.submit(self._remove, str(entry.get("id")))

    # --- CommandJournal ------------------------------------------------------------

    def add(self, call_id: str, request: rq.Request) -> None:
        self._calls[call_id] = request
        entry = {"id": call_id, "request": encode(request).decode(), "at": time.time()}
        self._writer.submit(self._write, entry)

    def done(self, call_id: str) -> None:
        if self._calls.pop(call_id, None) is not None:
            self._writer.submit(self._remove, call_id)

    def pending(self) -> list[tuple[str, rq.Request]]:
        return list(self._calls.items())

    def __len__(self) -> int:
        return len(self._calls)

    def close(self) -> None:
        """Finish the writes, then let go of the file."""
        self._writer.shutdown(wait=True)
        self._db.close()

    # --- on the writer's thread ------------------------------------------------------

    def _write(self, entry: dict[str, object]) -> None:
        try:
            self._entries.insert(entry)
        except OSError as exc:
            log.error("a queued command could not be written to %s: %s", self.path, exc)

    def _remove(self, call_id: str) -> None:
        try:
            self._entries.remove(Query().id == call_id)
        except OSError as exc:
            log.error("an answered command could not be removed from %s: %s", self.path, exc)
