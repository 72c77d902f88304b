"""What the main screen's parts share: its panes, its state, the desk controller.

The main screen is built from parts of one job each (opening tasks,
navigation, the task actions); each part is written against this class,
which declares what they may use and finds the panes. ``MainScreen`` sets
the state in its constructor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from ..desk_controller import DeskController
from ..inbox_index import InboxIndex
from ..widgets.conversation import ConversationPane
from ..widgets.customer_pane import CustomerPane
from ..widgets.inbox import InboxList

if TYPE_CHECKING:
    from ..app import AgentDeskApp

#: The conversation panes' ids: the first, and the second of the split view.
FIRST, SECOND = CONVERSATIONS = ("conv-a", "conv-b")


class DeskScreen(Screen[None]):
    """The panes and the state the main screen's parts share."""

    me: str
    index: InboxIndex
    controller: DeskController
    #: Whether the second conversation is shown, and which one is active.
    split: bool
    active_conv: str
    #: Where in the inbox each conversation's task was opened: "close and next"
    #: opens the task that now sits there.
    _anchor: dict[str, int]
    #: Panes (and "customer") that could not load while the desk was away.
    _unloaded: set[str]
    #: The task last said to be on the agent's screen.
    _focus_said: str | None
    #: Who has each task on their screen.
    viewers: dict[str, list[str]]

    @property
    def desk_app(self) -> AgentDeskApp:
        return self.app  # type: ignore[return-value]

    @property
    def inbox(self) -> InboxList:
        return self.query_one(InboxList)

    @property
    def customer_pane(self) -> CustomerPane:
        return self.query_one(CustomerPane)

    def pane(self, pane_id: str | None = None) -> ConversationPane:
        """A conversation pane by id (``FIRST``, ``SECOND``); the active one by default."""
        return self.query_one(f"#{pane_id or self.active_conv}", ConversationPane)

    def conversation_panes(self) -> list[ConversationPane]:
        return [self.pane(pane_id) for pane_id in CONVERSATIONS]

    # Defined by the parts and the main screen; declared for the others.

    def open_task(self, task_id: str, *, pane_id: str | None = None, focus: bool = True) -> None:
        raise NotImplementedError

    def _title(self) -> None:
        raise NotImplementedError

    def report_focus(self) -> None:
        raise NotImplementedError
