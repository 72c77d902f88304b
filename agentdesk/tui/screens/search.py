"""Search over open, pending and closed tasks, results updating as you type.

The agent's recent searches come back with up (and down) in the query box while
it is empty or shows a recalled query; a search is remembered when the agent
leaves the screen after it ran.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from agentdesk.api import DeskClient, DeskError
from agentdesk.query import QuerySyntaxError, parse_query

from ..labels import channel_badge, format_time
from ..safe_text import safe_fragment, safe_line
from ..widgets.key_bar import KeyBar

SYNTAX = """\
Search syntax
  refund label          tasks with both words (prefixes match: refu)
  "broken screen"       the exact phrase
  -invoice              without this word
  refund OR return      either word
  #1042                 the task with this number
  status:open           open, pending or closed (is:open is the same)
  channel:sms           a channel name or kind
  customer:ana          from:ana is the same; a name, address or phone
  assignee:me           me, none, or an agent's name; team:billing
  tag:vip  priority:high  is:unread  is:waiting
  after:2025-01-01  before:7d   a date, or an age (24h, 7d, 2w)
  sort:newest           newest, oldest, waiting or relevance (default)
enter opens the task · escape goes back · ? shows this help"""


class SearchResults(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Next result", show=False, id="results.down"),
        Binding("k", "cursor_up", "Previous result", show=False, id="results.up"),
    ]


class SearchScreen(Screen[str | None]):
    """Dismisses with the id of the task to open, or None."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="search.back"),
        Binding("question_mark", "syntax", "Syntax", id="search.syntax"),
        Binding("f1", "syntax", "Syntax", show=False, id="search.syntax_f1"),
        # Listed before "down → results": while recalling, down steps back.
        # No description: the help screen stays as it was; docs/console.md has them.
        Binding("up", "recall_older", "", show=False, id="search.recall_older"),
        Binding("down", "recall_newer", "", show=False, id="search.recall_newer"),
        Binding("down", "results", "Results", show=False, id="search.results"),
    ]

    def __init__(
        self,
        client: DeskClient,
        *,
        delay: float = 0.25,
        clock: Callable[[], float] = time.time,
        query: str = "",
        recent: Sequence[str] = (),
        remember: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(classes="search")
        self.client = client
        self.delay = delay
        self.clock = clock
        self._initial = query
        self._task_ids: list[str] = []
        self._query = ""
        self._next_offset: int | None = None
        #: Queries actually sent to the desk (stale ones are cancelled before).
        self.sent: list[str] = []
        #: The agent's recent searches, newest first, and which one the box shows.
        self._recent = list(recent)
        self._recall_at: int | None = None
        self._remember = remember

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            hint = "↑ recent searches, ? for syntax" if self._recent else "? for syntax"
            yield Input(self._initial, placeholder=f"search tasks… ({hint})", id="query")
            yield Static("Type to search.", id="search-status", markup=False)
            yield SearchResults(id="results")
            yield Static(SYNTAX, id="syntax", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self._syntax(visible=not self._initial)
        if self._initial:
            self.run_search(self._initial)

    def _syntax(self, visible: bool) -> None:
        self.query_one("#syntax").display = visible
        self.query_one("#results").display = not visible

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_box = isinstance(self.focused, Input)
        if action == "syntax":
            # In the query field "?" is a character; it shows the syntax only while
            # the field is empty or the results have focus.
            return not (in_box and self._box.value)
        if action == "recall_older":
            return in_box and bool(self._recent) and (not self._box.value or self._recalling())
        if action == "recall_newer":
            return in_box and self._recalling()
        return True

    @property
    def _box(self) -> Input:
        return self.query_one("#query", Input)

    def _recalling(self) -> bool:
        """Whether the box shows a recalled query, unedited."""
        at = self._recall_at
        return at is not None and self._box.value == self._recent[at]

    def action_recall_older(self) -> None:
        at = 0 if not self._recalling() else (self._recall_at or 0) + 1
        if at >= len(self._recent):
            self.app.bell()
            return
        self._recall(at)

    def action_recall_newer(self) -> None:
        at = (self._recall_at or 0) - 1
        self._recall(at if at >= 0 else None)

    def _recall(self, at: int | None) -> None:
        self._recall_at = at
        text = self._recent[at] if at is not None else ""
        box = self._box
        box.value = text
        box.cursor_position = len(text)

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(exclusive=True, group="search")
    async def run_search(self, query: str) -> None:
        """Debounced: a newer keystroke cancels this worker before it asks the desk."""
        query = query.strip()
        status = self.query_one("#search-status", Static)
        if not query:
            self._show([], 0)
            status.update("Type to search.", layout=False)
            self._syntax(visible=True)
            return
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            parse_query(query)
        except QuerySyntaxError as exc:
            # Told here, without a round trip to the desk; a field only the
            # desk's CRM knows (last_order:) is the desk's to judge.
            if not exc.message.startswith("unknown filter"):
                status.update(Text(f"⚠ {exc.message}"), layout=False)
                return
        self.sent.append(query)
        status.update("Searching…", layout=False)
        try:
            page = await self.client.search(query, limit=50)
        except (DeskError, QuerySyntaxError) as exc:
            status.update(Text(f"Cannot search: {exc}"), layout=False)
            return
        self._syntax(visible=False)
        self._query = query
        self._show(page.hits, page.total, exact=getattr(page, "total_exact", True))
        self._next_offset = page.next_offset

    @on(OptionList.OptionHighlighted, "#results")
    def _near_the_end(self, event: OptionList.OptionHighlighted) -> None:
        # Reaching the last result fetches the next page, if there is one.
        if event.option_index == len(self._task_ids) - 1 and self._next_offset is not None:
            self._more(self._query, self._next_offset)

    @work(exclusive=True, group="search-more")
    async def _more(self, query: str, offset: int) -> None:
        try:
            page = await self.client.search(query, limit=50, offset=offset)
        except (DeskError, QuerySyntaxError):
            return
        if query != self._query:
            return  # the agent typed something else meanwhile
        self._next_offset = page.next_offset
        self._show(page.hits, page.total, exact=getattr(page, "total_exact", True), append=True)

    def _show(
        self, hits: list[Any], total: int, *, exact: bool = True, append: bool = False
    ) -> None:
        results = self.query_one("#results", SearchResults)
        if not append:
            results.clear_options()
            self._task_ids = []
            self._next_offset = None
        now = self.clock()
        options = []
        for hit in hits:
            # Options are named by position: a task may come back on a later page.
            options.append(self._option(hit, now, len(self._task_ids)))
            self._task_ids.append(hit.task_id)
        results.add_options(options)
        shown = len(self._task_ids)
        count = f"{total:,}" + ("+" if not exact else "")
        self.query_one("#search-status", Static).update(
            f"{count} result{'s' if total != 1 else ''}"
            + (f", first {shown} shown" if shown < total else ""),
            layout=False,
        )

    def _option(self, hit: Any, now: float, position: int) -> Option:
        text = Text()
        text.append(f"#{hit.number} ", "bold")
        text.append(f"{channel_badge(hit.channel_kind)} ")
        text.append(f"{safe_line(hit.status, 8):<8} ")
        text.append(safe_line(hit.customer_name, 24), "bold")
        text.append(f" · {safe_line(hit.subject, 50)}" if hit.subject else "")
        text.append(f" · {format_time(hit.last_activity, now)}", "dim")
        text.append("\n    ")
        for fragment, highlighted in hit.snippet:
            text.append(safe_fragment(fragment), "reverse bold" if highlighted else "")
        return Option(text, id=str(position))

    @on(Input.Submitted, "#query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._task_ids:
            self._leave(self._task_ids[0])

    @on(OptionList.OptionSelected, "#results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._leave(self._task_ids[event.option_index])

    def _leave(self, task_id: str | None) -> None:
        # The last query the desk answered is the one worth remembering.
        if self._query and self._remember is not None:
            self._remember(self._query)
        self.dismiss(task_id)

    def action_results(self) -> None:
        if self._task_ids:
            self._syntax(visible=False)
            self.query_one("#results").focus()

    def action_syntax(self) -> None:
        syntax = self.query_one("#syntax")
        self._syntax(visible=not syntax.display)

    def action_back(self) -> None:
        self._leave(None)
