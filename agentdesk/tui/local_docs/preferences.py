"""The agent's console preferences: what they last chose, restored at the next start.

Values are kept as plain strings; the console checks them when it applies them
(a theme that is gone, a channel that was removed), so an old or hand-edited
file never stops it.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from tinydb import where
from tinydb.table import Table


@dataclass(frozen=True, slots=True)
class Preferences:
    """None means "not chosen": the configuration (or the console's default) holds."""

    theme: str | None = None
    #: The inbox view: scope (all, mine, unassigned), status filter, sort order, channel.
    scope: str | None = None
    status: str | None = None
    sort: str | None = None
    channel: str | None = None
    #: Split view (two conversations side by side).
    split: bool | None = None

    def to_doc(self, agent: str) -> dict[str, Any]:
        return {"agent": agent, **asdict(self)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Preferences:
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = doc.get(f.name)
            wanted = bool if f.name == "split" else str
            if isinstance(value, wanted):
                values[f.name] = value
        return cls(**values)


class PreferenceTable:
    """The ``preferences`` table: one document per agent."""

    def __init__(self, table: Table, lock: threading.RLock) -> None:
        self._table = table
        self._lock = lock

    def load(self, agent: str) -> Preferences:
        with self._lock:
            doc = self._table.get(where("agent") == agent)
        return Preferences.from_doc(doc) if isinstance(doc, dict) else Preferences()

    def save(self, agent: str, preferences: Preferences) -> None:
        with self._lock:
            self._table.upsert(preferences.to_doc(agent), where("agent") == agent)
