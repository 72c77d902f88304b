"""What the running console keeps for the agent at the keyboard.

The console starts the keeper with a file (or documents already open), loads
the agent's documents once the desk says who the agent is, and from then on
changes them in memory at once and on disk in the background, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .database import AgentDocuments, ConsoleDocuments
from .draft_book import DraftBook, DraftChange
from .preferences import Preferences
from .searches import remember
from .writer import DocWriter


class DocumentKeeper:
    def __init__(
        self,
        source: ConsoleDocuments | Path,
        *,
        clock: Callable[[], float] = time.time,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self._source = source
        self._docs = source if isinstance(source, ConsoleDocuments) else None
        self.clock = clock
        self.writer = DocWriter(on_problem)
        self.drafts = DraftBook(clock=clock, on_change=self._draft_changed)
        self.preferences = Preferences()
        #: The agent's recent searches, newest first.
        self.searches: list[str] = []
        #: Whose documents these are; None until loaded.
        self.agent: str | None = None

    @property
    def documents(self) -> ConsoleDocuments | None:
        return self._docs

    def load(self, agent: str) -> tuple[AgentDocuments, list[str]]:
        """Open the file if need be and read ``agent``'s documents, with the warnings
        of the opening. Reads the disk: call it off the event loop."""
        if self._docs is None:
            assert isinstance(self._source, Path)
            self._docs = ConsoleDocuments.open(self._source, now=self.clock())
        return self._docs.load_agent(agent), list(self._docs.warnings)

    def adopt(self, agent: str, loaded: AgentDocuments) -> None:
        """Take what ``load`` read (on the event loop): from now on changes are saved."""
        self.agent = agent
        self.preferences = loaded.preferences
        self.searches = list(loaded.searches)
        self.drafts.restore(loaded.drafts)

    def save_preferences(self, preferences: Preferences) -> None:
        if preferences == self.preferences:
            return
        self.preferences = preferences
        self._write("preferences", lambda docs, agent: docs.preferences.save(agent, preferences))

    def remember_search(self, query: str) -> None:
        searches = remember(self.searches, query)
        if searches == self.searches:
            return
        self.searches = searches
        self._write("recent searches", lambda docs, agent: docs.searches.save(agent, searches))

    def _draft_changed(self, change: DraftChange) -> None:
        draft = change.draft
        if draft is None:
            self._write(
                "a draft",
                lambda docs, agent: docs.drafts.discard(agent, change.task_id, change.mode),
            )
        else:
            self._write("a draft", lambda docs, agent: docs.drafts.save(agent, draft))

    def _write(self, what: str, job: Callable[[ConsoleDocuments, str], object]) -> None:
        docs, agent = self._docs, self.agent
        if docs is None or agent is None:
            return  # nothing loaded yet: kept in memory only
        self.writer.submit(what, lambda: job(docs, agent))

    def flush(self) -> None:
        """Wait for the writes queued so far. Blocks: call it off the event loop."""
        self.writer.drain()

    def close(self) -> None:
        """Finish the writes; close the file if the keeper opened it. Blocks."""
        self.writer.close()
        if self._docs is not None and not isinstance(self._source, ConsoleDocuments):
            self._docs.close()
