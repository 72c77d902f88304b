"""The inbox's sorted, filtered index of tasks.

The inbox widget draws only the rows on screen; this index tells it which task
sits at a row and which row holds a task. It keeps every known task by id and,
for the current view, a sorted list of keys kept up to date one task at a time
(a binary search and a list insert), so a live update does not re-sort the inbox.

A big snapshot loads in two steps: ``preview`` picks the first screenful in one
pass (no sort of everything), so the inbox paints at once; ``build_index`` sorts
the whole view (off the event loop) and ``install`` swaps it in, replaying the
changes that arrived meanwhile.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Sequence
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

# A sort key is one float: building and comparing 100k floats is several times
# cheaper than tuples. Equal keys keep their arrival order.
_NOT_WAITING = 1e11  # after every waiting customer (epoch seconds stay below 1e10)
_PRIORITY_STEP = 1e10
_HIDDEN = float("inf")  # a task the view does not show


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


def sort_key(task: Task, order: SortOrder) -> float:
    """The key a task sorts by in ``order`` (smaller first)."""
    waiting = task.waiting_since
    if order == SortOrder.WAITING:
        # Customers waiting for us first, the longest wait on top; then the rest,
        # most recently active first.
        return waiting if waiting is not None else _NOT_WAITING - task.updated_at
    if order == SortOrder.NEWEST:
        return -task.created_at
    return (3 - task.priority.rank) * _PRIORITY_STEP + (
        waiting if waiting is not None else _PRIORITY_STEP - 1
    )


def _visible(task: Task, view: InboxView, me: str) -> bool:
    if task.status not in _STATUSES[view.status]:
        return False
    if view.channel is not None and task.channel != view.channel:
        return False
    if view.scope == Scope.MINE:
        return task.assignee == me
    if view.scope == Scope.UNASSIGNED:
        return task.assignee is None
    return True


def _live(tasks: Iterable[Task], view: InboxView, me: str) -> list[Task]:
    if view == InboxView(sort=view.sort):
        # The default view needs no filter call per task: the common case at start.
        statuses = _STATUSES[StatusFilter.ACTIVE]
        return [t for t in tasks if t.status in statuses]
    return [t for t in tasks if _visible(t, view, me)]


def _keys(tasks: list[Task], order: SortOrder) -> list[float]:
    """``sort_key`` of each task, written out per order: no call per task."""
    if order == SortOrder.WAITING:
        return [
            t.waiting_since if t.waiting_since is not None else _NOT_WAITING - t.updated_at
            for t in tasks
        ]
    if order == SortOrder.NEWEST:
        return [-t.created_at for t in tasks]
    return [sort_key(t, order) for t in tasks]


@dataclass(slots=True)
class BuiltIndex:
    """A whole view, sorted; made by ``build_index`` and taken by ``install``."""

    view: InboxView
    tasks: dict[str, Task]
    keys: list[float]
    ids: list[str]


def build_index(tasks: Sequence[Task], view: InboxView, me: str) -> BuiltIndex:
    """Sort a snapshot into a view. Reads ``tasks`` only: safe in a worker thread."""
    by_id = {task.id: task for task in tasks}
    live = _live(by_id.values(), view, me)
    floats = _keys(live, view.sort)
    rows = sorted(range(len(live)), key=floats.__getitem__)
    return BuiltIndex(view, by_id, [floats[i] for i in rows], [live[i].id for i in rows])


class InboxIndex:
    """Every task the console knows, and the rows of the current view."""

    def __init__(self, me: str, view: InboxView | None = None) -> None:
        self.me = me
        self._view = view or InboxView()
        self._tasks: dict[str, Task] = {}
        self._revision: dict[str, int] = {}
        self._keys: list[float] = []
        self._ids: list[str] = []
        #: Set between ``preview`` and ``install``: the snapshot still being sorted,
        #: and the changes to replay once it is.
        self._source: Sequence[Task] | None = None
        self._pending: list[Task] = []

    # --- reading ------------------------------------------------------------

    @property
    def view(self) -> InboxView:
        return self._view

    @property
    def complete(self) -> bool:
        """False while a previewed snapshot is still being sorted."""
        return self._source is None

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
        task = self._tasks.get(task_id)
        if task is None or not self.visible(task):
            return None
        return self._find(task)

    def _find(self, task: Task) -> int | None:
        key = sort_key(task, self._view.sort)
        keys, ids = self._keys, self._ids
        row = bisect.bisect_left(keys, key)
        while row < len(keys) and keys[row] == key:
            if ids[row] == task.id:
                return row
            row += 1
        return None

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def revision(self, task_id: str) -> int:
        """Grows each time the task changes; part of the inbox's render cache key."""
        return self._revision.get(task_id, 0)

    def known(self) -> int:
        return len(self._source) if self._source is not None else len(self._tasks)

    def all_tasks(self) -> Iterable[Task]:
        """Every task the console knows, in no particular order."""
        return self._tasks.values()

    def visible(self, task: Task) -> bool:
        """Whether ``task`` belongs in the current view."""
        return _visible(task, self._view, self.me)

    # --- changing -------------------------------------------------------------

    def load(self, tasks: Sequence[Task]) -> None:
        """Replace everything with ``tasks`` (a snapshot), sorted at once. Revisions
        start again, so whoever caches rows by revision must drop its cache."""
        self.install(build_index(tasks, self._view, self.me), fresh=True)

    def preview(self, tasks: Sequence[Task], rows: int) -> None:
        """Show only the first ``rows`` rows of a big snapshot, found in one pass;
        ``build_index`` then ``install`` complete it."""
        view = self._view
        if view == InboxView():
            # The default view in a single pass: hidden tasks get an infinite key.
            statuses = _STATUSES[StatusFilter.ACTIVE]
            floats = [
                (t.waiting_since if t.waiting_since is not None else _NOT_WAITING - t.updated_at)
                if t.status in statuses
                else _HIDDEN
                for t in tasks
            ]
            candidates: Sequence[Task] = tasks
        else:
            candidates = _live(tasks, view, self.me)
            floats = _keys(list(candidates), view.sort)
        # The rows-th smallest key, then every task at or below it, in key order.
        cut = heapq.nsmallest(rows, floats)[-1] if floats else _HIDDEN
        top = sorted(
            (i for i, key in enumerate(floats) if key <= cut and key != _HIDDEN),
            key=floats.__getitem__,
        )[:rows]
        self._tasks = {candidates[i].id: candidates[i] for i in top}
        self._keys = [floats[i] for i in top]
        self._ids = [candidates[i].id for i in top]
        self._revision = {}
        self._source = tasks
        self._pending = []

    def install(self, built: BuiltIndex, *, fresh: bool = False) -> bool:
        """Take a sorted view. False (and nothing changes) when the view changed
        while it was being built: build again for the current one."""
        if built.view != self._view:
            return False
        self._tasks, self._keys, self._ids = built.tasks, built.keys, built.ids
        self._revision = {}
        pending, self._pending, self._source = self._pending, [], None
        if not fresh:
            for task in pending:
                self.upsert(task)
        return True

    def source(self) -> Sequence[Task] | None:
        """The snapshot being sorted, while the index is not complete."""
        return self._source

    def set_view(self, view: InboxView) -> None:
        if view == self._view:
            return
        self._view = view
        revisions = self._revision
        if self._source is not None:
            # Still sorting a snapshot: sort it for the new view now.
            source, pending = self._source, self._pending
            self.install(build_index(source, view, self.me), fresh=True)
            for task in pending:
                self.upsert(task)
        else:
            self.install(build_index(list(self._tasks.values()), view, self.me), fresh=True)
        # Same tasks, new rows: what the inbox drew of each task is still good.
        self._revision = revisions

    def upsert(self, task: Task) -> None:
        """Add or replace one task, moving its row if its sort key changed."""
        if self._source is not None:
            self._pending.append(task)
        old = self._tasks.get(task.id)
        if old is not None and self.visible(old):
            row = self._find(old)
            if row is not None:
                del self._keys[row]
                del self._ids[row]
        self._tasks[task.id] = task
        self._revision[task.id] = self._revision.get(task.id, 0) + 1
        if self.visible(task):
            key = sort_key(task, self._view.sort)
            row = bisect.bisect_right(self._keys, key)
            self._keys.insert(row, key)
            self._ids.insert(row, task.id)

    def upsert_many(self, tasks: list[Task]) -> None:
        # Past a few thousand changes one sort beats as many list inserts.
        if len(tasks) > 2000 and self._source is None:
            revisions = self._revision
            for task in tasks:
                self._tasks[task.id] = task
                revisions[task.id] = revisions.get(task.id, 0) + 1
            built = build_index(list(self._tasks.values()), self._view, self.me)
            self._keys, self._ids = built.keys, built.ids
            return
        for task in tasks:
            self.upsert(task)
