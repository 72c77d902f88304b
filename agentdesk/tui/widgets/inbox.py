"""The unified inbox: one virtual list of tasks across every channel.

A Line API widget: ``render_line`` draws only the rows on screen, each from the
``InboxIndex`` row it shows, through a cache of finished strips. Nothing here
walks the whole inbox, so a key press costs the same with 100 or 100,000 tasks.
The cursor is a task id, not a row number: live updates that insert or move rows
keep the agent's selection (and where it sits on screen) in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdesk.api import SlaDue
from agentdesk.domain import Task

from ..inbox_index import BuiltIndex, InboxIndex, InboxView, build_index
from ..labels import format_wait
from .inbox_row import ONE_LINE_WIDTH, paint_row
from .scroll_extent import set_scroll_extent
from .typeahead import OrderedKeys

#: Snapshots up to this size are sorted before the first paint; bigger ones show
#: their first PREVIEW_ROWS rows at once and finish sorting in a worker thread.
SORT_AT_ONCE = 5_000
PREVIEW_ROWS = 200
#: Seconds between the preview and the start of the full sort.
SORT_AFTER = 0.05


class InboxList(OrderedKeys, ScrollView, can_focus=True):
    """Every task of the current view, one (or two) lines each."""

    COMPONENT_CLASSES = {
        "inbox--cursor",
        "inbox--cursor-blur",
        "inbox--unread",
        "inbox--muted",
        "inbox--badge",
        "inbox--warning",
        "inbox--error",
        "inbox--urgent",
        "inbox--high",
        "inbox--mine",
    }

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="inbox.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="inbox.up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="inbox.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="inbox.page_up"),
        Binding("home,g", "first", "First", show=False, id="inbox.first"),
        Binding("end,G", "last", "Last", show=False, id="inbox.last"),
        Binding("enter", "open", "Open", id="inbox.open"),
    ]

    class Highlighted(Message):
        """The cursor moved to another task."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    class Sorted(Message):
        """A big snapshot finished sorting: every row is there now."""

    class Opened(Message):
        """The agent asked to open a task (enter or click)."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(
        self,
        index: InboxIndex,
        *,
        clock: Callable[[], float] = time.time,
        waiting_warn: float = 15 * 60,
        waiting_error: float = 60 * 60,
        sort_at_once: int = SORT_AT_ONCE,
        preview_rows: int = PREVIEW_ROWS,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.index = index
        self.clock = clock
        self.waiting_warn = waiting_warn
        self.waiting_error = waiting_error
        self.sort_at_once = sort_at_once
        self.preview_rows = preview_rows
        self.cursor_id: str | None = None
        self._cursor_row = 0
        #: The desk's service-level clocks (task id -> due): where one runs, it
        #: decides a row's colour instead of the waiting thresholds.
        self.sla: dict[str, SlaDue] = {}
        #: Why waiting tasks wait, in a word (routing's; task id -> word).
        self.reasons: dict[str, str] = {}
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        # Rich styles of the components, worked out once per theme (Textual's own
        # cache is dropped on every refresh, and rows are built between refreshes).
        self._styles: dict[str, Style] = {}
        #: How many strips were built (not served from the cache); read by benchmarks.
        self.rows_built = 0
        #: What an empty inbox says (why it is empty, what to do), a line each.
        self.empty_hint: list[str] = []

    # --- geometry ---------------------------------------------------------------

    @property
    def row_height(self) -> int:
        return 1 if self.size.width >= ONE_LINE_WIDTH else 2

    def _update_virtual_size(self) -> None:
        set_scroll_extent(self, Size(self.size.width, len(self.index) * self.row_height))

    def on_resize(self, event: Resize) -> None:
        self._cache.clear()
        self._update_virtual_size()
        self._scroll_cursor_visible()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- the data -----------------------------------------------------------------

    def load(self, tasks: Sequence[Task]) -> None:
        """Show a fresh set of tasks (a snapshot); the cursor keeps its task if present.

        A big snapshot paints its first screenful at once and is sorted in a
        worker thread, so the first paint does not wait for 100k tasks to sort.
        """
        self._cache.clear()
        if len(tasks) <= self.sort_at_once:
            self.index.load(tasks)
            self._after_change(None)
            return
        self.index.preview(tasks, self.preview_rows)
        self._after_change(None)
        # Just after the first paint (the screen repaints within a frame): the
        # sort holds the interpreter while it runs.
        view = self.index.view
        self.set_timer(SORT_AFTER, lambda: self._sort_snapshot(tasks, view))

    @work(thread=True, exclusive=True, group="inbox-sort", description="sorting the inbox")
    def _sort_snapshot(self, tasks: Sequence[Task], view: InboxView) -> None:
        built = build_index(tasks, view, self.index.me)
        self.app.call_from_thread(self._install, built)

    def _install(self, built: BuiltIndex) -> None:
        if self.index.source() is None:
            return  # a view change sorted it meanwhile
        before = self._current_row()
        if not self.index.install(built):
            source = self.index.source()
            assert source is not None
            self._sort_snapshot(source, self.index.view)
            return
        self._cache.clear()
        self._after_change(before)
        self.post_message(self.Sorted())

    def apply(self, tasks: list[Task]) -> None:
        """Take changed tasks from a live update without moving the agent's selection."""
        before = self._current_row()
        self.index.upsert_many(tasks)
        self._after_change(before)

    def set_reasons(self, changed: dict[str, str], *, whole: bool = False) -> None:
        """Take routing's word on why tasks wait ("" : no longer waiting)."""
        if whole:
            self.reasons = {}
        for task_id, word in changed.items():
            if word:
                self.reasons[task_id] = word
            else:
                self.reasons.pop(task_id, None)
        self._cache.clear()  # the rows' text changed, not their revision
        self.refresh()

    def set_sla(self, changed: dict[str, SlaDue | None], *, whole: bool = False) -> None:
        """Take the desk's service-level clocks (``whole``: all of them, from a snapshot)."""
        if whole:
            self.sla = {}
        for task_id, due in changed.items():
            if due is None:
                self.sla.pop(task_id, None)
            else:
                self.sla[task_id] = due
        self.refresh()

    def set_view(self, view: InboxView) -> None:
        self.index.set_view(view)
        self._after_change(None)
        self._scroll_cursor_visible()

    def _current_row(self) -> int | None:
        return self.index.row_of(self.cursor_id) if self.cursor_id else None

    def _after_change(self, row_before: int | None) -> None:
        old_id = self.cursor_id
        self._update_virtual_size()
        row_now = self._current_row()
        if row_now is None:
            # The selected task left this view: select what took its place.
            fallback = self._cursor_row if row_before is None else row_before
            row_now = min(fallback, len(self.index) - 1)
            self.cursor_id = self.index.id_at(row_now) if row_now >= 0 else None
            row_now = max(row_now, 0)
        elif row_before is not None and row_now != row_before:
            # Rows were inserted or removed above: scroll by as much so the
            # selected row stays where the agent's eyes are.
            shift = (row_now - row_before) * self.row_height
            self.set_scroll(None, max(0, self.scroll_y + shift))
        self._cursor_row = row_now
        self.refresh()
        if self.cursor_id != old_id:
            self.post_message(self.Highlighted(self.cursor_id))

    @property
    def cursor_task(self) -> Task | None:
        return self.index.get(self.cursor_id) if self.cursor_id else None

    def select(self, task_id: str) -> bool:
        """Put the cursor on a task; False if the view does not show it."""
        row = self.index.row_of(task_id)
        if row is None:
            return False
        self._move_to(row)
        return True

    def task_after(self, task_id: str) -> str | None:
        """The task shown after ``task_id`` (or before, at the end), for "close and next"."""
        row = self.index.row_of(task_id)
        if row is None:
            return self.cursor_id
        return self.index.id_at(row + 1) or self.index.id_at(row - 1)

    # --- moving -------------------------------------------------------------------------

    def _move_to(self, row: int) -> None:
        if not len(self.index):
            return
        row = max(0, min(row, len(self.index) - 1))
        old_id = self.cursor_id
        old_row = self._current_row() if old_id else None
        self._cursor_row = row
        self.cursor_id = self.index.id_at(row)
        scroll = self.scroll_y
        self._scroll_cursor_visible()
        if self.scroll_y == scroll:
            # Only the two rows that changed are drawn again.
            height = self.row_height
            if old_row is not None:
                self.refresh_lines(old_row * height, height)
            self.refresh_lines(row * height, height)
        if self.cursor_id != old_id:
            self.post_message(self.Highlighted(self.cursor_id))

    def _scroll_cursor_visible(self) -> None:
        row = self._current_row()
        if row is None:
            return
        height = self.row_height
        top, visible = self.scroll_y, self.scrollable_content_region.height
        y = row * height
        if y < top:
            self.set_scroll(None, y)
        elif visible and y + height > top + visible:
            self.set_scroll(None, y + height - visible)

    def action_cursor_down(self) -> None:
        self._move_to((self._current_row() or 0) + 1 if self.cursor_id else 0)

    def action_cursor_up(self) -> None:
        self._move_to((self._current_row() or 0) - 1)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height // self.row_height - 1)

    def action_page_down(self) -> None:
        self._move_to((self._current_row() or 0) + self._page())

    def action_page_up(self) -> None:
        self._move_to((self._current_row() or 0) - self._page())

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.index) - 1)

    def action_open(self) -> None:
        if self.cursor_id is None and len(self.index):
            self._move_to(0)
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))

    def on_click(self, event: Click) -> None:
        row = (event.y + self.scroll_offset.y) // self.row_height
        if 0 <= row < len(self.index):
            self._move_to(row)
            self.action_open()

    # --- drawing ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        height = self.row_height
        row, sub = divmod(self.scroll_offset.y + y, height)
        task = self.index.task_at(row)
        if task is None:
            hint = (
                self.empty_hint[y - 1]
                if len(self.index) == 0 and 0 < y <= len(self.empty_hint)
                else ""
            )
            if hint:
                muted = self._style("inbox--muted")
                return Strip([Segment(f" {hint}", muted)]).adjust_cell_length(width, muted)
            return Strip.blank(width, self._style("base"))
        now = self.clock()
        waited = now - task.waiting_since if task.waiting_since is not None else None
        wait_text = format_wait(waited) if waited is not None else ""
        is_cursor = task.id == self.cursor_id
        key = (
            task.id,
            self.index.revision(task.id),
            width,
            sub,
            is_cursor,
            is_cursor and self.has_focus,
            wait_text,
            level := self._wait_level(task.id, waited, now),
            reason := self.reasons.get(task.id, ""),
        )
        strip = self._cache.get(key)
        if strip is None:
            if is_cursor:
                base = self._style("inbox--cursor" if self.has_focus else "inbox--cursor-blur")
            else:
                base = self._style("base")
            strip = paint_row(
                task,
                line=sub,
                width=width,
                base=base,
                style=self._style,
                me=self.index.me,
                wait_text=wait_text,
                wait_level=level,
                reason=reason,
            )
            self._cache[key] = strip
            self.rows_built += 1
        return strip

    def set_empty_hint(self, lines: list[str]) -> None:
        if lines != self.empty_hint:
            self.empty_hint = lines
            self.refresh()

    def invalidate(self) -> None:
        """Forget every drawn row (the agent's name changed, say) and redraw."""
        self._cache.clear()
        self.refresh()

    def refresh_clock(self) -> None:
        """Redraw waiting times (called every few seconds; only visible rows cost)."""
        self.refresh()

    def _wait_level(self, task_id: str, waited: float | None, now: float) -> int:
        """0 fine, 1 amber, 2 red: by the task's service-level target where one
        runs, else by how long the customer has waited."""
        due = self.sla.get(task_id)
        if due is not None:
            return 2 if now >= due.due_at else 1 if now >= due.warn_at else 0
        if waited is None or waited < self.waiting_warn:
            return 0
        return 1 if waited < self.waiting_error else 2

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self._make_style(name)
        return style

    def _make_style(self, name: str) -> Style:
        if name == "base":
            return self.rich_style
        if name.startswith("inbox--cursor"):
            return self.get_component_rich_style(name)
        # The full style has colours blended against the widget (partial styles
        # lose the blend of translucent theme colours); keep its foreground and
        # attributes so the row's own background (the cursor's) shows through.
        full = self.get_component_rich_style(name)
        return Style(
            color=full.color,
            bold=full.bold,
            dim=full.dim,
            italic=full.italic,
            underline=full.underline,
            reverse=full.reverse,
        )
