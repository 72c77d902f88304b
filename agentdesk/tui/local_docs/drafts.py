"""Drafts: a reply or a note half-written, kept per agent, task and mode."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tinydb import Query, where
from tinydb.table import Table

MODES = ("reply", "note")


@dataclass(frozen=True, slots=True)
class Draft:
    task_id: str
    #: "reply" or "note": a task can hold one of each.
    mode: str
    text: str
    #: When it was last saved (epoch seconds).
    saved_at: float

    def to_doc(self, agent: str) -> dict[str, Any]:
        return {
            "agent": agent,
            "task": self.task_id,
            "mode": self.mode,
            "text": self.text,
            "saved_at": self.saved_at,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Draft | None:
        """The draft a document holds, or None if it is not one (edited by hand, say)."""
        task, mode, text, saved_at = (doc.get(k) for k in ("task", "mode", "text", "saved_at"))
        if not (isinstance(task, str) and task and mode in MODES and isinstance(text, str)):
            return None
        if isinstance(saved_at, bool) or not isinstance(saved_at, int | float):
            return None
        return cls(task, mode, text, float(saved_at))


def _older_than(value: object, before: float) -> bool:
    return isinstance(value, bool) or not isinstance(value, int | float) or value < before


class DraftTable:
    """The ``drafts`` table: one document per agent, task and mode."""

    def __init__(self, table: Table, lock: threading.RLock) -> None:
        self._table = table
        self._lock = lock

    def of_agent(self, agent: str) -> list[Draft]:
        with self._lock:
            docs = self._table.search(where("agent") == agent)
        return [d for d in (Draft.from_doc(doc) for doc in docs) if d is not None]

    def save(self, agent: str, draft: Draft) -> None:
        q = Query()
        with self._lock:
            self._table.upsert(
                draft.to_doc(agent),
                (q.agent == agent) & (q.task == draft.task_id) & (q.mode == draft.mode),
            )

    def discard(self, agent: str, task_id: str, mode: str) -> None:
        q = Query()
        with self._lock:
            self._table.remove((q.agent == agent) & (q.task == task_id) & (q.mode == mode))

    def prune(self, before: float) -> int:
        """Remove every agent's drafts saved before ``before``; how many went."""
        # (TinyDB's annotation says the test gets the document; it gets the field.)
        test = where("saved_at").test(_older_than, before)  # type: ignore[arg-type]
        old = test | ~Query().saved_at.exists()
        with self._lock:
            # Only write when there is something to remove: opening the console
            # must not rewrite the file each time.
            if not self._table.search(old):
                return 0
            return len(self._table.remove(old))
