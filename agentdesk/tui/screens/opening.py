"""Opening tasks in the conversation panes and the customer pane (main screen part).

What is known is shown at once (so keys typed right after enter act on the
task); the thread, the customer and the timeline load in workers.
"""

from __future__ import annotations

import asyncio
import contextlib

from textual import work

from agentdesk.api import DeskError
from agentdesk.api import requests as rq

from ..canned import canned_fields
from ..labels import channel_badge
from ..safe_text import safe_line
from ..widgets.conversation import ConversationPane
from ..widgets.customer_pane import CustomerPane
from ..widgets.inbox import InboxList
from .desk_screen import DeskScreen

#: While a look-up runs, the CRM section is read again this often, this many times.
CRM_POLL_SECONDS = 0.5
CRM_POLLS = 120


class TaskOpening(DeskScreen):
    """Showing tasks and customers; loading what the screen does not hold."""

    # Named handlers, not @on: Textual collects @on only from Textual classes.
    def on_inbox_list_opened(self, event: InboxList.Opened) -> None:
        self.open_task(event.task_id)

    def on_customer_pane_open_task(self, event: CustomerPane.OpenTask) -> None:
        self.open_task(event.task_id)

    def open_task(self, task_id: str, *, pane_id: str | None = None, focus: bool = True) -> None:
        """Show a task in a conversation pane (the active one by default)."""
        pane = self.pane(pane_id)
        if self.inbox.select(task_id):
            row = self.index.row_of(task_id)
            if row is not None:
                self._anchor[pane.id or ""] = row
        task = self.index.get(task_id)
        if task is not None:
            # Show what we know at once, so keys typed right after enter act on it.
            pane.begin(task, self.controller.customer_name(task))
            pane.set_viewers(self.viewers.get(task_id, []))
            self._bind_composer(pane)
        if focus:
            self.set_focus(pane.thread)
        self._load(pane, task_id)
        self.report_focus()

    def report_focus(self) -> None:
        """Tell the desk which task is on screen now: focus time per channel
        is measured from it."""
        task_id = self.pane(None).task_id
        if task_id != self._focus_said:
            self._focus_said = task_id
            self.run_worker(self._say_focus(task_id), group="focus", exclusive=True)

    async def _say_focus(self, task_id: str | None) -> None:
        client = self.desk_app.client
        if client is not None:
            with contextlib.suppress(DeskError):  # a hub away: said again at the next change
                await client.request(rq.Focus(task_id=task_id))

    def _load(self, pane: ConversationPane, task_id: str) -> None:
        self.run_worker(self._load_task(pane, task_id), group=f"load-{pane.id}", exclusive=True)

    async def _load_task(self, pane: ConversationPane, task_id: str) -> None:
        client = self.desk_app.client
        if client is None:
            return
        try:
            task = self.index.get(task_id) or await client.get_task(task_id)
            if task is None:
                self.notify("That task no longer exists.", severity="warning", markup=False)
                return
            events = await client.thread(task_id)
            customer = await client.customer(task.customer_id)
        except DeskError as exc:
            # A hub out of reach: say so; the pane loads again when it is back.
            self._unloaded.add(pane.id or "")
            self.notify(
                safe_line(f"The conversation cannot load now: {exc}", 200),
                severity="warning",
                markup=False,
                timeout=4,
            )
            return
        if customer is not None:
            self.controller.customers[customer.id] = customer
        pane.show(task, events, self.controller.customer_name(task))
        pane.set_viewers(self.viewers.get(task_id, []))
        self._bind_composer(pane)
        self.report_focus()
        if pane.id == self.active_conv:
            self._show_customer_of(pane)
        if task.unread:
            with contextlib.suppress(DeskError):
                await client.mark_read(task_id)

    def _bind_composer(self, pane: ConversationPane) -> None:
        task = pane.current
        channel = self.controller.channels.get(task.channel) if task else None
        label = (
            f"{channel_badge(task.channel_kind).strip()} {safe_line(task.channel, 30)}"
            if task is not None
            else ""
        )
        if channel is not None and channel.state in ("down", "stopped"):
            label += f" (channel {channel.state}: replies wait in the outbox)"
        pane.composer.bind_task(
            task.id if task else None, channel.capabilities if channel else None, label
        )

    def _show_customer_of(self, pane: ConversationPane) -> None:
        task = pane.current
        if task is None:
            self.customer_pane.show(None, [], None)
            return
        self._load_customer(task.customer_id, task.id)

    @work(exclusive=True, group="customer")
    async def _load_customer(self, customer_id: str, task_id: str) -> None:
        client = self.desk_app.client
        if client is None:
            return
        try:
            customer = await client.customer(customer_id)
            entries = await client.timeline(customer_id)
        except DeskError:
            self._unloaded.add("customer")  # loads again when the desk is back
            return
        if customer is not None:
            self.controller.customers[customer.id] = customer
        self.customer_pane.show(customer, entries, task_id)
        await self._load_crm(customer_id)

    async def _load_crm(self, customer_id: str) -> None:
        """The CRM section, then again while a look-up runs (its end may change
        no customer field, so no update says it)."""
        client = self.desk_app.client
        for _ in range(CRM_POLLS):
            try:
                profile = await client.crm_profile(customer_id) if client else None
            except DeskError:
                return  # a hub away, or one without CRM: the rest of the pane stands
            self.customer_pane.show_crm(profile)
            if profile is None or not profile.running:
                return
            await asyncio.sleep(CRM_POLL_SECONDS)

    def reload_unloaded(self) -> None:
        """The desk is back: load what could not be loaded while it was away."""
        unloaded, self._unloaded = self._unloaded, set()
        for pane in self.conversation_panes():
            if (pane.id or "") in unloaded and pane.task_id:
                self._load(pane, pane.task_id)
        if "customer" in unloaded:
            self._show_customer_of(self.pane(None))

    def _fields(self, pane: ConversationPane) -> dict[str, str]:
        task = pane.current
        customer = self.controller.customers.get(task.customer_id) if task else None
        return canned_fields(customer, task, self.me)
