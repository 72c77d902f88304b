"""Agents' presence and focus changes, written to the store as they happen.

They are what agent time is measured from (``agentdesk.metrics``). Changes
that come in a burst (a console connecting says online and its focus) are
written as one batch, in the order they happened, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agentdesk.domain import Activity, ActivityKind
from agentdesk.store import Batch

log = logging.getLogger("agentdesk.desk")

#: Commits a batch and publishes it: the desk's own path for its changes.
Writer = Callable[[Batch], Awaitable[None]]


class ActivityLog:
    def __init__(self, write: Writer, clock: Callable[[], float]) -> None:
        self._write = write
        self._clock = clock
        self._pending: list[Activity] = []
        self._flushing: asyncio.Task[None] | None = None
        self._presence: dict[str, str] = {}
        #: The task on each agent's screen, as they last said.
        self.focus_of: dict[str, str] = {}

    def presence(self, agent: str, presence: str) -> None:
        if self._presence.get(agent, "offline") == presence:
            return
        self._presence[agent] = presence
        if presence == "offline":
            self.focus_of.pop(agent, None)
        self._add(
            Activity(agent=agent, at=self._clock(), kind=ActivityKind.PRESENCE, value=str(presence))
        )

    def focus(self, agent: str, task_id: str | None, channel: str) -> bool:
        """Record that ``task_id`` (None: no task) is on ``agent``'s screen;
        False when it already was."""
        value = task_id or ""
        if self.focus_of.get(agent, "") == value:
            return False
        if value:
            self.focus_of[agent] = value
        else:
            self.focus_of.pop(agent, None)
        self._add(
            Activity(
                agent=agent, at=self._clock(), kind=ActivityKind.FOCUS, value=value, channel=channel
            )
        )
        return True

    def viewers(self, task_id: str) -> list[str]:
        """The agents who have ``task_id`` on their screen."""
        return sorted(agent for agent, focus in self.focus_of.items() if focus == task_id)

    def _add(self, record: Activity) -> None:
        self._pending.append(record)
        if self._flushing is None:
            try:
                self._flushing = asyncio.get_running_loop().create_task(self._flush())
            except RuntimeError:
                self._pending.clear()  # no loop: a command-line tool, nobody to measure

    async def _flush(self) -> None:
        try:
            while self._pending:
                records, self._pending = self._pending, []
                try:
                    await self._write(Batch(activity=records))
                except Exception:
                    log.exception("%d activity records could not be saved", len(records))
        finally:
            self._flushing = None

    async def drain(self) -> None:
        """Wait until every change recorded so far is written."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)
