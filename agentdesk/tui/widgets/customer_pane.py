"""The customer pane: who this is, and everything they told us on any channel."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agentdesk.api import TimelineEntry
from agentdesk.domain import Customer, Handoff, Transfer

from ..event_text import summarize_event
from ..labels import STATUS_LABELS, channel_badge, format_time
from ..safe_text import safe_line
from .typeahead import OrderedKeys

#: Events listed under each task of the timeline; the task itself opens the rest.
EVENTS_PER_TASK = 12
MAX_ATTRIBUTES = 20


class Timeline(OrderedKeys, OptionList):
    """Tasks of the customer, newest first, each followed by its events."""

    BINDINGS = [
        Binding("j", "cursor_down", "Next timeline entry", show=False, id="timeline.down"),
        Binding("k", "cursor_up", "Previous timeline entry", show=False, id="timeline.up"),
    ]


class CustomerPane(Vertical):
    """Profile (identities, attributes, tags) above the cross-channel timeline."""

    class OpenTask(Message):
        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane customer")
        self.clock = clock
        self.customer: Customer | None = None
        self.entries: list[TimelineEntry] = []

    def compose(self) -> ComposeResult:
        yield Static("No customer", classes="pane-title", markup=False)
        yield Static("", classes="profile", markup=False)
        yield Timeline(classes="timeline")

    def show(
        self, customer: Customer | None, entries: list[TimelineEntry], current: str | None
    ) -> None:
        self.customer = customer
        self.entries = entries
        title = self.query_one(".pane-title", Static)
        profile = self.query_one(".profile", Static)
        timeline = self.query_one(Timeline)
        timeline.clear_options()
        if customer is None:
            title.update("No customer")
            profile.update("")
            return
        title.update(Text(safe_line(customer.display_name, 60), "bold"))
        profile.update(self._profile(customer, entries))
        now = self.clock()
        options: list[Option] = []
        highlight = None
        for entry in entries:
            task = entry.task
            if task.id == current:
                highlight = len(options)
            head = Text()
            head.append("▸ " if task.id == current else "  ")
            head.append(f"#{task.number} ", "bold")
            head.append(f"{channel_badge(task.channel_kind).strip()} ")
            head.append(f"{STATUS_LABELS.get(task.status, str(task.status))} · ")
            head.append(safe_line(task.subject or task.preview, 50))
            head.append(f" · {format_time(task.created_at, now)}", "dim")
            options.append(Option(head, id=f"task:{task.id}"))
            events = sorted(entry.events, key=lambda e: e.at, reverse=True)
            for number, event in enumerate(events[:EVENTS_PER_TASK]):
                line = Text("    ")
                line.append(format_time(event.at, now) + " ", "dim")
                style = "bold" if isinstance(event, Handoff | Transfer) else ""
                line.append(summarize_event(event), style)
                options.append(Option(line, id=f"event:{task.id}:{number}"))
            if len(events) > EVENTS_PER_TASK:
                more = Text(f"    … {len(events) - EVENTS_PER_TASK} more", "dim")
                options.append(Option(more, id=f"more:{task.id}"))
        timeline.add_options(options)
        if highlight is not None:
            timeline.highlighted = highlight

    def _profile(self, customer: Customer, entries: list[TimelineEntry]) -> Text:
        text = Text()
        for identity in customer.identities[:10]:
            kind = identity.kind
            icon = channel_badge({"phone": "sms"}.get(kind, kind)).split()[0]
            text.append(f"{icon} {safe_line(identity.value, 50)}\n")
        if len(customer.identities) > 10:
            text.append(f"… {len(customer.identities) - 10} more identities\n", "dim")
        for key, value in list(customer.attributes.items())[:MAX_ATTRIBUTES]:
            text.append(f"{safe_line(key, 20)}: ", "dim")
            text.append(f"{safe_line(value, 50)}\n")
        if customer.tags:
            text.append(safe_line(" ".join(f"#{t}" for t in customer.tags), 80) + "\n")
        open_count = sum(1 for e in entries if e.task.status != "closed")
        count = len(entries)
        text.append(f"{count} task{'s' if count != 1 else ''}, {open_count} not closed", "dim")
        return text

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        task_id = option_id.split(":")[1] if ":" in option_id else ""
        if task_id:
            self.post_message(self.OpenTask(task_id))
