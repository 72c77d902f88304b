"""Writes to the console's documents, one at a time and in order, off the event loop.

Each write replaces the whole file (and syncs it), which takes milliseconds the
console must not spend on its event loop. One writer thread runs them in the
order they were given: a draft saved then discarded must not come back because
two threads raced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("agentdesk.console")


class DocWriter:
    """A queue of document writes served by one thread."""

    def __init__(self, on_problem: Callable[[str], None] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-docs")
        #: Told (from the writer thread) of the first write that fails.
        self._on_problem = on_problem
        self._told = False
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, what: str, job: Callable[[], object]) -> Future[None] | None:
        """Queue ``job``; ``what`` names it in a warning if it fails."""
        with self._lock:
            if self._closed:
                log.warning("console documents closed; not saved: %s", what)
                return None
            return self._pool.submit(self._run, what, job)

    def _run(self, what: str, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception as exc:  # a full disk, a file made unreadable meanwhile
            log.warning("could not save %s: %s", what, exc)
            if not self._told and self._on_problem is not None:
                self._told = True  # once: a failing disk fails every write
                self._on_problem(f"could not save {what}: {exc}")

    def drain(self) -> None:
        """Wait until every write queued so far is done. Blocks: call it off the loop."""
        done = self.submit("nothing", lambda: None)
        if done is not None:
            done.result()

    def close(self) -> None:
        """Finish the queued writes, then refuse new ones. Blocks."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)
