"""Opening the console's documents: one TinyDB file in the user state directory.

A file that cannot be read never stops the console: it is renamed aside
(``console.json.damaged-<time>``) and an empty database takes its place; where
even that is impossible (a read-only home), the documents live in memory until
the console quits. Each case leaves a warning for the console to show once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinydb import TinyDB
from tinydb.storages import MemoryStorage

from agentdesk.core.config import default_state_dir

from .drafts import Draft, DraftTable
from .preferences import Preferences, PreferenceTable
from .searches import SearchTable
from .storage import AtomicJSONStorage, DamagedFile

FILE_NAME = "console.json"
#: Drafts not touched for this long are removed when the documents are opened.
DRAFT_DAYS = 30


def default_documents_path() -> Path:
    return default_state_dir() / FILE_NAME


@dataclass(frozen=True, slots=True)
class AgentDocuments:
    """Everything kept for one agent, read at once when the console starts."""

    preferences: Preferences = field(default_factory=Preferences)
    drafts: list[Draft] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)


class ConsoleDocuments:
    """The console's small documents: drafts, preferences, recent searches.

    Safe to use from several threads (one lock around every table operation);
    the console still hands its writes to one writer thread so they keep their order.
    """

    def __init__(self, db: TinyDB, *, path: Path | None, warnings: list[str] | None = None) -> None:
        self.db = db
        #: The file, or None when the documents live in memory only.
        self.path = path
        #: What went wrong opening the file, for the console to show once.
        self.warnings = list(warnings or [])
        lock = threading.RLock()
        self.drafts = DraftTable(db.table("drafts"), lock)
        self.preferences = PreferenceTable(db.table("preferences"), lock)
        self.searches = SearchTable(db.table("searches"), lock)

    @classmethod
    def open(cls, path: Path, *, now: float | None = None) -> ConsoleDocuments:
        """Open (or start) the file at ``path``; prune old drafts. Reads the disk: call
        it off the event loop."""
        now = time.time() if now is None else now
        warnings: list[str] = []
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: drafts
            db = TinyDB(path, storage=AtomicJSONStorage)
            try:
                db.tables()  # reads the whole file now, so damage shows here
            except (DamagedFile, OSError) as exc:
                aside = set_aside(path, now)
                warnings.append(
                    f"{path} could not be read ({exc}). It is kept as {aside.name}; "
                    "drafts and preferences start afresh."
                )
        except OSError as exc:
            return cls.in_memory(
                [f"cannot keep drafts in {path} ({exc}); they last until the console quits."]
            )
        docs = cls(db, path=path, warnings=warnings)
        try:
            docs.drafts.prune(now - DRAFT_DAYS * 86400)
        except OSError as exc:
            docs.warnings.append(f"{path} cannot be written ({exc}); drafts may not be kept.")
        return docs

    @classmethod
    def in_memory(cls, warnings: list[str] | None = None) -> ConsoleDocuments:
        return cls(TinyDB(storage=MemoryStorage), path=None, warnings=warnings)

    def load_agent(self, agent: str) -> AgentDocuments:
        return AgentDocuments(
            preferences=self.preferences.load(agent),
            drafts=self.drafts.of_agent(agent),
            searches=self.searches.load(agent),
        )

    def close(self) -> None:
        self.db.close()


def set_aside(path: Path, now: float) -> Path:
    """Rename an unreadable file out of the way, keeping it for a person to look at."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    path.rename(aside)
    return aside
