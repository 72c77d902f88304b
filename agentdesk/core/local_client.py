"""The in-process desk client: the console and the desk in one process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agentdesk.domain import Customer, Event, Priority, Status, Task

from .client import ChannelStatus, Snapshot, TimelineEntry, Update
from .desk import Desk


class LocalDeskClient:
    """A ``DeskClient`` that calls a ``Desk`` in the same event loop."""

    def __init__(
        self, desk: Desk, me: str, *, first_snapshot: tuple[int, list[Task]] | None = None
    ) -> None:
        self.desk = desk
        self.me = me
        # (seq, open and pending tasks) read when the desk opened: the first
        # snapshot costs no second read (the stream resumes from its seq).
        self._first = first_snapshot

    async def snapshot(self) -> Snapshot:
        if self._first is not None:
            (seq, tasks), self._first = self._first, None
            return Snapshot(seq=seq, tasks=tasks, channels=self.desk.channels())
        store = self.desk.store
        seq, tasks = await self.desk.read(
            lambda: (store.seq, store.tasks([Status.OPEN, Status.PENDING]))
        )
        return Snapshot(seq=seq, tasks=tasks, channels=self.desk.channels())

    async def subscribe(self, since: int) -> AsyncIterator[Update]:
        async for update in self.desk.subscribe(since):
            if update.targeted:
                mine = [text for agent, text in update.targeted if agent == self.me]
                update = replace(update, notices=[*update.notices, *mine], targeted=[])
            yield update

    async def get_task(self, task_id: str) -> Task | None:
        return await self.desk.read(self.desk.store.get_task, task_id)

    async def task_by_number(self, number: int) -> Task | None:
        return await self.desk.read(self.desk.store.task_by_number, number)

    async def thread(self, task_id: str) -> list[Event]:
        return await self.desk.read(self.desk.store.events_of_task, task_id)

    async def customer(self, customer_id: str) -> Customer | None:
        return await self.desk.read(self.desk.store.get_customer, customer_id)

    async def timeline(self, customer_id: str) -> list[TimelineEntry]:
        store = self.desk.store

        def read() -> list[TimelineEntry]:
            tasks = sorted(store.tasks_of_customer(customer_id), key=lambda t: t.updated_at)
            return [TimelineEntry(t, store.events_of_task(t.id)) for t in reversed(tasks)]

        return await self.desk.read(read)

    async def search(self, query: str, *, limit: int = 50, offset: int = 0) -> Any:
        return await self.desk.search(query, me=self.me, limit=limit, offset=offset)

    async def channels(self) -> list[ChannelStatus]:
        return self.desk.channels()

    async def reply(self, task_id: str, text: str) -> Event:
        return await self.desk.commands.reply(task_id, text, actor=self.me)

    async def note(self, task_id: str, text: str) -> Event:
        return await self.desk.commands.note(task_id, text, actor=self.me)

    async def set_status(
        self, task_id: str, status: Status, *, pending_until: float | None = None
    ) -> Task:
        return await self.desk.commands.set_status(
            task_id, status, pending_until=pending_until, actor=self.me
        )

    async def assign(self, task_id: str, assignee: str | None) -> Task:
        return await self.desk.commands.assign(task_id, assignee, actor=self.me)

    async def transfer(
        self, task_id: str, *, assignee: str | None = None, team: str | None = None, note: str = ""
    ) -> Task:
        return await self.desk.commands.transfer(
            task_id, assignee=assignee, team=team, note=note, actor=self.me
        )

    async def handoff(
        self, task_id: str, *, to_channel: str, to_identity: str, message: str | None = None
    ) -> Task:
        return await self.desk.commands.handoff(
            task_id,
            to_channel=to_channel,
            to_identity=to_identity,
            message=message,
            actor=self.me,
        )

    async def set_priority(self, task_id: str, priority: Priority) -> Task:
        return await self.desk.commands.set_priority(task_id, priority, actor=self.me)

    async def set_tags(self, task_id: str, tags: list[str]) -> Task:
        return await self.desk.commands.set_tags(task_id, tags, actor=self.me)

    async def mark_read(self, task_id: str) -> None:
        await self.desk.commands.mark_read(task_id)

    async def typing(self, task_id: str, typing: bool) -> None:
        await self.desk.commands.typing(task_id, typing)

    async def merge_customers(self, keep_id: str, merge_id: str) -> Customer:
        return await self.desk.commands.merge_customers(keep_id, merge_id, actor=self.me)

    async def close(self) -> None:
        """Nothing to release: the desk belongs to whoever made it."""
