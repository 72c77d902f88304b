"""The inbox's sorted, filtered index of tasks.

The inbox widget draws only the rows on screen; this index tells it which task
sits at a row and which row holds a task. It keeps every known task by id and,
for the current view, a sorted list of keys kept up to date one task at a time
(a binary search and a list insert), so a live update does not re-sort the inbox.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from agentdesk.domain import Status, Task


class Scope(StrEnum):
    ALL = "all"
    MINE = "mine"
    UNASSIGNED = "unassigned"


class StatusFilter(StrEnum):
    ACTIVE = "active"  # open and pending
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class SortOrder(StrEnum):
    WAITING = "waiting"  # longest waiting first
    NEWEST = "newest"
    PRIORITY = "priority"


_STATUSES = {
    StatusFilter.ACTIVE: frozenset({Status.OPEN, Status.PENDING}),
    StatusFilter.OPEN: frozenset({Status.OPEN}),
    StatusFilter.PENDING: frozenset({Status.PENDING}),
    StatusFilter.CLOSED: frozenset({Status.CLOSED}),
}

_NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class InboxView:
    """What the inbox shows: whose tasks, which channel, which statuses, in what order."""

    scope: Scope = Scope.ALL
    channel: str | None = None
    status: StatusFilter = StatusFilter.ACTIVE
    sort: SortOrder = SortOrder.WAITING

    def with_(self, **changes: object) -> InboxView:
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """A short title: ``Mine · sms · open · longest waiting``."""
        parts = [self.scope.value.capitalize()]
        if self.channel:
            parts.append(self.channel)
        parts.append("open+pending" if self.status == StatusFilter.ACTIVE else self.status.value)
        parts.append(
            {
                SortOrder.WAITING: "longest waiting",
                SortOrder.NEWEST: "newest",
                SortOrder.PRIORITY: "priority",
            }[self.sort]
        )
        return " · ".join(parts)


SortKey = tuple[object, ...]


def sort_key(task: Task, order: SortOrder) -> SortKey:
    """The key a task sorts by; the id last makes every key unique."""
    if order == SortOrder.WAITING:
        # Customers waiting for us first, the longest wait on top; then the rest,
        # most recently active first.
        if task.waiting_since is not None:
            return (0, task.waiting_since, task.id)
        return (1, -task.updated_at, task.id)
    if order == SortOrder.NEWEST:
        return (-task.created_at, task.id)
    waiting = task.waiting_since if task.waiting_since is not None else _NEVER
    return (-task.priority.rank, waiting, -task.updated_at, task.id)


class InboxIndex:
    """Every task the console knows, and the rows of the current view."""

    def __init__(self, me: str, view: InboxView | None = None) -> None:
        self.me = me
        self._view = view or InboxView()
        self._tasks: dict[str, Task] = {}
        self._revision: dict[str, int] = {}
        self._keys: list[SortKey] = []
        self._ids: list[str] = []
        self._key_of: dict[str, SortKey] = {}

    # --- reading ------------------------------------------------------------

    @property
    def view(self) -> InboxView:
        return self._view

    def __len__(self) -> int:
        return len(self._ids)

    def task_at(self, row: int) -> Task | None:
        if 0 <= row < len(self._ids):
            return self._tasks[self._ids[row]]
        return None

    def id_at(self, row: int) -> str | None:
        if 0 <= row < len(self._ids):
            return self._ids[row]
        return None

    def row_of(self, task_id: str) -> int | None:
        """The row of a task in the current view, or None when the view hides it."""
        key = self._key_of.get(task_id)
        if key is None:
            return None
        return bisect.bisect_left(self._keys, key)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def revision(self, task_id: str) -> int:
        """Grows each time the task changes; part of the inbox's render cache key."""
        return self._revision.get(task_id, 0)

    def known(self) -> int:
        return len(self._tasks)

    def all_tasks(self) -> Iterable[Task]:
        """Every task the console knows, in no particular order."""
        return self._tasks.values()

    def visible(self, task: Task) -> bool:
        """Whether ``task`` belongs in the current view."""
        view = self._view
        if task.status not in _STATUSES[view.status]:
            return False
        if view.channel is not None and task.channel != view.channel:
            return False
        if view.scope == Scope.MINE:
            return task.assignee == self.me
        if view.scope == Scope.UNASSIGNED:
            return task.assignee is None
        return True

    # --- changing -------------------------------------------------------------

    def load(self, tasks: Iterable[Task]) -> None:
        """Replace everything with ``tasks`` (a snapshot)."""
        self._tasks = {task.id: task for task in tasks}
        self._revision = dict.fromkeys(self._tasks, 1)
        self._rebuild()

    def set_view(self, view: InboxView) -> None:
        if view != self._view:
            self._view = view
            self._rebuild()

    def upsert(self, task: Task) -> None:
        """Add or replace one task, moving its row if its sort key changed."""
        self._tasks[task.id] = task
        self._revision[task.id] = self._revision.get(task.id, 0) + 1
        old = self._key_of.pop(task.id, None)
        if old is not None:
            row = bisect.bisect_left(self._keys, old)
            del self._keys[row]
            del self._ids[row]
        if self.visible(task):
            key = sort_key(task, self._view.sort)
            row = bisect.bisect_left(self._keys, key)
            self._keys.insert(row, key)
            self._ids.insert(row, task.id)
            self._key_of[task.id] = key

    def upsert_many(self, tasks: list[Task]) -> None:
        # Past a few thousand changes one sort beats as many list inserts.
        if len(tasks) > 2000:
            for task in tasks:
                self._tasks[task.id] = task
                self._revision[task.id] = self._revision.get(task.id, 0) + 1
            self._rebuild()
            return
        for task in tasks:
            self.upsert(task)

    def _rebuild(self) -> None:
        order = self._view.sort
        pairs = sorted(
            (sort_key(task, order), task.id) for task in self._tasks.values() if self.visible(task)
        )
        self._keys = [key for key, _ in pairs]
        self._ids = [task_id for _, task_id in pairs]
        self._key_of = dict(zip(self._ids, self._keys, strict=True))
