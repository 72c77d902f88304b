"""The drafts of the running console, in memory, each change handed on to be saved.

The composers read and write drafts here, never the disk: opening a task must
not wait on a file. Every change that matters (a new text, a draft gone) is
passed to ``on_change``, which saves it in the background.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .drafts import Draft


@dataclass(frozen=True, slots=True)
class DraftChange:
    task_id: str
    mode: str
    #: The draft as it is now; None when it was discarded.
    draft: Draft | None


class DraftBook:
    """Drafts by task and mode ("reply" or "note")."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[DraftChange], None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_change = on_change
        self._drafts: dict[tuple[str, str], Draft] = {}

    def restore(self, drafts: Iterable[Draft]) -> None:
        """Take the drafts read from disk (not saved again)."""
        for draft in drafts:
            known = self._drafts.get((draft.task_id, draft.mode))
            if known is None or known.saved_at < draft.saved_at:
                self._drafts[(draft.task_id, draft.mode)] = draft

    def get(self, task_id: str, mode: str) -> Draft | None:
        return self._drafts.get((task_id, mode))

    def latest(self, task_id: str) -> Draft | None:
        """The task's most recently saved draft, reply or note."""
        found = [d for (t, _), d in self._drafts.items() if t == task_id]
        return max(found, key=lambda d: d.saved_at, default=None)

    def keep(self, task_id: str, mode: str, text: str) -> None:
        """Record what the composer holds; blank text discards the draft."""
        mode = str(mode)  # a ComposeMode is written to the file as its plain value
        if not text.strip():
            self.discard(task_id, mode)
            return
        known = self._drafts.get((task_id, mode))
        if known is not None and known.text == text:
            return
        draft = Draft(task_id, mode, text, self.clock())
        self._drafts[(task_id, mode)] = draft
        self._tell(DraftChange(task_id, mode, draft))

    def discard(self, task_id: str, mode: str, *, text: str | None = None) -> None:
        """Forget a draft (only if it still holds ``text``, when given: a sent reply
        must not take with it what was typed after)."""
        mode = str(mode)
        known = self._drafts.get((task_id, mode))
        if known is None or (text is not None and known.text != text):
            return
        del self._drafts[(task_id, mode)]
        self._tell(DraftChange(task_id, mode, None))

    def __len__(self) -> int:
        return len(self._drafts)

    def _tell(self, change: DraftChange) -> None:
        if self.on_change is not None:
            self.on_change(change)
