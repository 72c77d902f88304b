"""The desk client: the one interface the console talks to.

The console never reaches a store or a plugin. It holds a ``DeskClient``:
in process (``LocalDeskClient``, the embedded default) or, in team mode, a
websocket client to a hub. Both speak this package's messages and pass the
same contract suite. ``RequestMethods`` turns the named methods into
requests, so a client implements ``request`` and ``subscribe`` alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from agentdesk.domain import Customer, Event, Priority, Status, Task

from . import requests as rq
from .crm import CrmProfile
from .messages import ChannelStatus, SearchPage, Snapshot, TimelineEntry, Update


@runtime_checkable
class DeskClient(Protocol):
    """Reads, commands and the live update stream of one desk, for one agent.

    Every method raises ``DeskError`` (with its ``code``) when refused."""

    #: The agent this client acts for.
    me: str

    async def request(self, request: rq.Request) -> Any:
        """Any request; the answer is of ``request.result``'s type."""

    def subscribe(self, since: int) -> AsyncIterator[Update]:
        """Updates after sequence ``since``, then live ones, until the client closes."""

    async def snapshot(self) -> Snapshot: ...
    async def get_task(self, task_id: str) -> Task | None: ...
    async def task_by_number(self, number: int) -> Task | None: ...
    async def thread(self, task_id: str) -> list[Event]:
        """A task's events in time order."""

    async def customer(self, customer_id: str) -> Customer | None: ...
    async def timeline(self, customer_id: str) -> list[TimelineEntry]:
        """Every task of a customer with its events, newest task first."""

    async def search(self, query: str, *, limit: int = 50, offset: int = 0) -> SearchPage: ...
    async def channels(self) -> list[ChannelStatus]: ...
    async def crm_profile(self, customer_id: str) -> CrmProfile:
        """What the CRM says about the customer (see ``CrmProfile``)."""

    async def reply(
        self,
        task_id: str,
        text: str,
        *,
        template: str | None = None,
        params: list[str] | None = None,
    ) -> Event: ...
    async def note(self, task_id: str, text: str) -> Event: ...
    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None = None
    ) -> Task: ...
    async def assign(self, task_id: str, assignee: str | None) -> Task: ...
    async def transfer(
        self, task_id: str, *, assignee: str | None = None, team: str | None = None, note: str = ""
    ) -> Task: ...
    async def handoff(
        self,
        task_id: str,
        *,
        to_channel: str,
        to_identity: str,
        message: str | None = None,
        template: str | None = None,
        params: list[str] | None = None,
    ) -> Task: ...
    async def set_priority(self, task_id: str, priority: Priority) -> Task: ...
    async def set_tags(self, task_id: str, tags: list[str]) -> Task: ...
    async def mark_read(self, task_id: str) -> None: ...
    async def typing(self, task_id: str, typing: bool) -> None:
        """The agent is writing a reply on the task (or stopped): shown to the
        customer where the channel can (best effort)."""

    async def merge_customers(self, keep_id: str, merge_id: str) -> Customer: ...

    async def close(self) -> None: ...


class RequestMethods:
    """The named methods of ``DeskClient``, each one request through ``request``."""

    async def request(self, request: rq.Request) -> Any:
        raise NotImplementedError

    async def snapshot(self) -> Snapshot:
        snapshot: Snapshot = await self.request(rq.GetSnapshot())
        return snapshot

    async def get_task(self, task_id: str) -> Task | None:
        task: Task | None = await self.request(rq.GetTask(task_id=task_id))
        return task

    async def task_by_number(self, number: int) -> Task | None:
        task: Task | None = await self.request(rq.TaskByNumber(number=number))
        return task

    async def thread(self, task_id: str) -> list[Event]:
        events: list[Event] = await self.request(rq.GetThread(task_id=task_id))
        return events

    async def customer(self, customer_id: str) -> Customer | None:
        customer: Customer | None = await self.request(rq.GetCustomer(customer_id=customer_id))
        return customer

    async def timeline(self, customer_id: str) -> list[TimelineEntry]:
        entries: list[TimelineEntry] = await self.request(rq.GetTimeline(customer_id=customer_id))
        return entries

    async def search(self, query: str, *, limit: int = 50, offset: int = 0) -> SearchPage:
        page: SearchPage = await self.request(rq.Search(query=query, limit=limit, offset=offset))
        return page

    async def channels(self) -> list[ChannelStatus]:
        channels: list[ChannelStatus] = await self.request(rq.ListChannels())
        return channels

    async def crm_profile(self, customer_id: str) -> CrmProfile:
        profile: CrmProfile = await self.request(rq.GetCrmProfile(customer_id=customer_id))
        return profile

    async def reply(
        self,
        task_id: str,
        text: str,
        *,
        template: str | None = None,
        params: list[str] | None = None,
    ) -> Event:
        request = rq.Reply(task_id=task_id, text=text, template=template, params=params or [])
        event: Event = await self.request(request)
        return event

    async def note(self, task_id: str, text: str) -> Event:
        event: Event = await self.request(rq.AddNote(task_id=task_id, text=text))
        return event

    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None = None
    ) -> Task:
        return await self._task(
            rq.SetStatus(task_id=task_id, status=status, pending_until=pending_until)
        )

    async def assign(self, task_id: str, assignee: str | None) -> Task:
        return await self._task(rq.Assign(task_id=task_id, assignee=assignee))

    async def transfer(
        self, task_id: str, *, assignee: str | None = None, team: str | None = None, note: str = ""
    ) -> Task:
        return await self._task(
            rq.Transfer(task_id=task_id, assignee=assignee, team=team, note=note)
        )

    async def handoff(
        self,
        task_id: str,
        *,
        to_channel: str,
        to_identity: str,
        message: str | None = None,
        template: str | None = None,
        params: list[str] | None = None,
    ) -> Task:
        return await self._task(
            rq.Handoff(
                task_id=task_id,
                to_channel=to_channel,
                to_identity=to_identity,
                message=message,
                template=template,
                params=params or [],
            )
        )

    async def set_priority(self, task_id: str, priority: Priority) -> Task:
        return await self._task(rq.SetPriority(task_id=task_id, priority=priority))

    async def set_tags(self, task_id: str, tags: list[str]) -> Task:
        return await self._task(rq.SetTags(task_id=task_id, tags=list(tags)))

    async def mark_read(self, task_id: str) -> None:
        await self.request(rq.MarkRead(task_id=task_id))

    async def typing(self, task_id: str, typing: bool) -> None:
        await self.request(rq.Typing(task_id=task_id, typing=bool(typing)))

    async def merge_customers(self, keep_id: str, merge_id: str) -> Customer:
        customer: Customer = await self.request(
            rq.MergeCustomers(keep_id=keep_id, merge_id=merge_id)
        )
        return customer

    async def _task(self, request: rq.Request) -> Task:
        task: Task = await self.request(request)
        return task


@runtime_checkable
class DeskConnector(Protocol):
    """Opens a desk client inside the running event loop and closes it after.

    The console calls ``open`` once its loop runs (an embedded desk starts its
    channels and HTTP server there) and ``close`` when it quits.
    """

    async def open(self) -> DeskClient: ...
    async def close(self) -> None: ...
