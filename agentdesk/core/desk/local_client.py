"""The in-process desk client: the console and the desk in one process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agentdesk.api import Actor, RequestMethods, Snapshot, Update
from agentdesk.api import requests as rq
from agentdesk.domain import Task

from .desk import Desk


class LocalDeskClient(RequestMethods):
    """A ``DeskClient`` that hands each request to a ``Desk`` in the same event loop."""

    def __init__(
        self,
        desk: Desk,
        me: str | Actor,
        *,
        first_snapshot: tuple[int, list[Task]] | None = None,
    ) -> None:
        self.desk = desk
        # A name alone is the embedded desk's one agent, with every right.
        self.actor = me if isinstance(me, Actor) else Actor.embedded(me)
        self.me = self.actor.agent
        # (seq, open and pending tasks) read when the desk opened: the first
        # snapshot costs no second read (the stream resumes from its seq).
        self._first = first_snapshot

    async def request(self, request: rq.Request) -> Any:
        if isinstance(request, rq.GetSnapshot) and self._first is not None:
            (seq, tasks), self._first = self._first, None
            return Snapshot(
                seq=seq,
                tasks=tasks,
                channels=self.desk.channels(),
                sla=self.desk.sla_of(tasks),
                viewers=self.desk.viewers_of(tasks),
                waiting=self.desk.waiting_of(tasks),
            )
        return await self.desk.handle(self.actor, request)

    async def subscribe(self, since: int) -> AsyncIterator[Update]:
        async for published in self.desk.subscribe(self.actor, since):
            yield published.update

    async def close(self) -> None:
        """Nothing to release: the desk belongs to whoever made it."""
