"""Commands a remote console made and the hub has not answered yet.

A command goes in the journal before it is sent and leaves it when its
answer comes, so one made offline, or whose answer the connection lost, is
sent again after reconnecting with its id (the hub applies an id once). A
journal kept on disk makes that hold across a console killed while offline.
"""

from __future__ import annotations

from typing import Protocol

from agentdesk.api import requests as rq


class CommandJournal(Protocol):
    def add(self, call_id: str, request: rq.Request) -> None: ...
    def done(self, call_id: str) -> None: ...
    def pending(self) -> list[tuple[str, rq.Request]]:
        """Unanswered commands, oldest first."""

    def __len__(self) -> int: ...
    def close(self) -> None:
        """Finish what is being written (a journal on disk)."""


class MemoryJournal:
    """A journal that lasts as long as the console."""

    def __init__(self) -> None:
        self._calls: dict[str, rq.Request] = {}

    def add(self, call_id: str, request: rq.Request) -> None:
        self._calls[call_id] = request

    def done(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def pending(self) -> list[tuple[str, rq.Request]]:
        return list(self._calls.items())

    def __len__(self) -> int:
        return len(self._calls)

    def close(self) -> None:
        pass
