"""Moving between panes, the split view, and the inbox's views (main screen part)."""

from __future__ import annotations

from textual.message import Message
from textual.widget import Widget

from ..inbox_index import InboxView, Scope, SortOrder, StatusFilter
from .desk_screen import FIRST, SECOND, DeskScreen


def _cycle(values: list, current: object) -> object:
    return values[(values.index(current) + 1) % len(values)]


class LayoutChosen(Message):
    """The agent chose another inbox view or turned the split view on or off:
    worth keeping for the next start."""

    def __init__(self, view: InboxView, split: bool) -> None:
        super().__init__()
        self.view = view
        self.split = split


class Navigation(DeskScreen):
    """Pane focus (tab, escape), the split view (s, w) and views (v, f, O, 0-9)."""

    def _pane_order(self) -> list[tuple[str, Widget]]:
        """(pane container id, the widget that takes the focus there), in tab order."""
        order: list[tuple[str, Widget]] = [
            ("inbox-pane", self.inbox),
            (FIRST, self.pane(FIRST).thread),
        ]
        if self.split:
            order.append((SECOND, self.pane(SECOND).thread))
        order.append(("customer", self.query_one("#customer .timeline")))
        return order

    def _step_pane(self, step: int) -> None:
        order = self._pane_order()
        focused = self.focused
        around = {node.id for node in focused.ancestors_with_self} if focused else set()
        current = next((i for i, (pane_id, _) in enumerate(order) if pane_id in around), 0)
        self.set_focus(order[(current + step) % len(order)][1])

    def action_next_pane(self) -> None:
        self._step_pane(1)

    def action_previous_pane(self) -> None:
        self._step_pane(-1)

    def action_back(self) -> None:
        self.set_focus(self.inbox)

    def action_split(self) -> None:
        self.show_split(not self.split)
        second = self.pane(SECOND)
        if self.split:
            first_task = self.pane(FIRST).task_id
            cursor = self.inbox.cursor_id
            if second.current is None and cursor and cursor != first_task:
                self.open_task(cursor, pane_id=SECOND, focus=False)
            self.set_focus(second.thread)
        else:
            self.set_focus(self.pane(FIRST).thread)
        self._chosen()

    def show_split(self, split: bool) -> None:
        """Show one conversation or two, without opening a task or moving the focus."""
        self.split = split
        self.pane(SECOND).display = split
        self.set_class(split, "-split")
        if not split:
            self.active_conv = FIRST
            self.report_focus()
        self.refresh_bindings()

    def _chosen(self) -> None:
        self.post_message(LayoutChosen(self.index.view, self.split))

    def action_swap(self) -> None:
        other = SECOND if self.active_conv == FIRST else FIRST
        self.set_focus(self.pane(other).thread)

    def set_view(self, view: InboxView, *, chosen: bool = True) -> None:
        """Show another view; ``chosen`` when the agent asked for it (not a restore)."""
        self.inbox.set_view(view)
        self._title()
        if chosen:
            self._chosen()

    def action_cycle_scope(self) -> None:
        scopes = [Scope.ALL, Scope.MINE, Scope.UNASSIGNED]
        self.set_view(self.index.view.with_(scope=_cycle(scopes, self.index.view.scope)))

    def action_cycle_status(self) -> None:
        statuses = list(StatusFilter)
        self.set_view(self.index.view.with_(status=_cycle(statuses, self.index.view.status)))

    def action_cycle_sort(self) -> None:
        orders = list(SortOrder)
        self.set_view(self.index.view.with_(sort=_cycle(orders, self.index.view.sort)))

    def action_channel_view(self, number: int) -> None:
        names = list(self.controller.channels)
        channel = names[number - 1] if 0 < number <= len(names) else None
        self.set_view(self.index.view.with_(channel=channel))
