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
from agentdesk.api.crm import CrmProfile
from agentdesk.domain import Customer, Handoff, SurveyAnswer, Transfer

from ..event_text import SURVEY_TOPS, summarize_event
from ..labels import STATUS_LABELS, channel_badge, format_time
from ..safe_text import safe_line
from .typeahead import OrderedKeys

#: Events listed under each task of the timeline; the task itself opens the rest.
EVENTS_PER_TASK = 12
MAX_ATTRIBUTES = 20
#: Wide enough to copy a CRM record's link whole.
LINK_WIDTH = 300


class Timeline(OrderedKeys, OptionList):
    """Tasks of the customer, newest first, each followed by its events."""

    BINDINGS = [
        Binding("j", "cursor_down", "Next timeline entry", show=False, id="timeline.down"),
        Binding("k", "cursor_up", "Previous timeline entry", show=False, id="timeline.up"),
    ]


class CustomerPane(Vertical):
    """Profile (identities, attributes, tags, what the CRM says) above the
    cross-channel timeline."""

    DEFAULT_CSS = """
    CustomerPane .crm { height: auto; padding: 0 1; }
    """

    class OpenTask(Message):
        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane customer")
        self.clock = clock
        self.customer: Customer | None = None
        self.entries: list[TimelineEntry] = []
        self.crm: CrmProfile | None = None

    def compose(self) -> ComposeResult:
        yield Static("No customer", classes="pane-title", markup=False)
        yield Static("", classes="profile", markup=False)
        crm = Static("", classes="crm", markup=False)
        crm.display = False  # until the desk says it has a CRM
        yield crm
        yield Timeline(classes="timeline")

    def show(
        self, customer: Customer | None, entries: list[TimelineEntry], current: str | None
    ) -> None:
        self.customer = customer
        self.entries = entries
        if self.crm is not None and (customer is None or customer.id != self.crm.customer_id):
            self.show_crm(None)  # another customer's
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
        from_crm = self.crm.fields if self.crm is not None else {}
        attributes = [(k, v) for k, v in customer.attributes.items() if k not in from_crm]
        for key, value in attributes[:MAX_ATTRIBUTES]:
            text.append(f"{safe_line(key, 20)}: ", "dim")
            text.append(f"{safe_line(value, 50)}\n")
        if customer.tags:
            text.append(safe_line(" ".join(f"#{t}" for t in customer.tags), 80) + "\n")
        open_count = sum(1 for e in entries if e.task.status != "closed")
        count = len(entries)
        text.append(f"{count} task{'s' if count != 1 else ''}, {open_count} not closed", "dim")
        scores = last_scores(entries)
        if scores:
            text.append("\nsurveys: ", "dim")
            text.append(safe_line(scores, 80))
        return text

    def show_crm(self, profile: CrmProfile | None) -> None:
        """What the CRM says about the customer shown (None: nothing to say)."""
        self.crm = profile
        section = self.query_one(".crm", Static)
        text = crm_text(profile, self.clock()) if profile is not None else Text()
        section.update(text)
        section.display = bool(text.plain)
        if self.customer is not None:
            self.query_one(".profile", Static).update(self._profile(self.customer, self.entries))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        task_id = option_id.split(":")[1] if ":" in option_id else ""
        if task_id:
            self.post_message(self.OpenTask(task_id))


def last_scores(entries: list[TimelineEntry]) -> str:
    """The customer's latest answer to each survey: "CSAT 4/5 (#1042) · CES 6/7 (#1042)"."""
    latest: dict[str, tuple[float, str]] = {}
    for entry in entries:
        for event in entry.events:
            if (
                isinstance(event, SurveyAnswer)
                and event.at >= latest.get(event.metric, (0.0, ""))[0]
            ):
                top = SURVEY_TOPS.get(event.metric)
                scale = f"/{top}" if top else ""
                said = f"{event.metric.upper()} {event.score}{scale} (#{entry.task.number})"
                latest[event.metric] = (event.at, said)
    return " · ".join(said for _, said in sorted(latest.values()))


def crm_text(profile: CrmProfile, now: float) -> Text:
    """The pane's CRM section: the fields, and how fresh they are. Empty when
    the desk has no enricher."""
    text = Text()
    if not profile.configured:
        return text
    text.append("CRM", "bold")
    if profile.source:
        text.append(f" · {safe_line(', '.join(profile.source), 40)}", "dim")
    text.append("\n")
    for key, value in list(profile.fields.items())[:MAX_ATTRIBUTES]:
        text.append(f"{safe_line(key, 20)}: ", "dim")
        # The link whole, as plain text: the agent selects and copies it.
        text.append(safe_line(value, LINK_WIDTH if key == "link" else 50) + "\n")
    if profile.error:
        text.append(f"CRM unavailable ({safe_line(profile.error, 80)})", "bold")
        if profile.fields and profile.fetched_at is not None:
            text.append(f", as of {format_time(profile.fetched_at, now)}", "dim")
        text.append("\n")
    elif not profile.fields and profile.fetched_at is not None and not profile.running:
        text.append("not in the CRM\n", "dim")
    if profile.running:
        text.append("looking up…\n", "dim italic")
    text.rstrip()
    return text
