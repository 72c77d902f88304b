"""Each chat session's message log, with sequence numbers, kept in the channel's state.

The log holds the visitor's and the agent's messages in order, numbered from
1. It is what a reconnecting browser replays, what makes ``send`` idempotent
(an outbound key already in the log is not sent twice) and what drops a
visitor message the browser sent twice. Only the newest ``limit`` entries of
each session are kept; in memory, idle sessions are cached up to
``cache_size`` and reloaded from state on demand.

State layout: ``session:<id>`` holds the session's small record,
``entry:<id>:<seq>`` one message each, so an append writes two small values.
An agent message that is a satisfaction survey keeps its questions and the
visitor's answers in its entry (see ``survey_form``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from agentdesk.plugin import PluginState

from . import protocol
from .survey_form import PostedQuestion

VISITOR = "visitor"
AGENT = "agent"


@dataclass(slots=True)
class LogEntry:
    seq: int
    sender: str  # VISITOR or AGENT
    #: The browser's message id for the visitor, the outbound key for the agent.
    message_id: str
    text: str
    at: float
    agent: str = ""
    #: For an agent message that is a satisfaction survey: its questions, and
    #: the task it asks about.
    survey: list[PostedQuestion] = field(default_factory=list)
    task_number: int | None = None

    def frame(self) -> str:
        """The entry as a ``message`` frame for the browser."""
        return protocol.message(
            seq=self.seq,
            sender=self.sender,
            message_id=self.message_id,
            text=self.text,
            at=self.at,
            agent=self.agent,
            survey=[question.to_frame() for question in self.survey],
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seq": self.seq,
            "from": self.sender,
            "id": self.message_id,
            "text": self.text,
            "at": self.at,
            "agent": self.agent,
        }
        if self.survey:
            data["survey"] = [question.to_json() for question in self.survey]
            data["task_number"] = self.task_number
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogEntry:
        task_number = data.get("task_number")
        return cls(
            seq=int(data["seq"]),
            sender=str(data["from"]),
            message_id=str(data["id"]),
            text=str(data["text"]),
            at=float(data["at"]),
            agent=str(data.get("agent", "")),
            survey=[PostedQuestion.from_json(q) for q in data.get("survey") or ()],
            task_number=int(task_number) if task_number is not None else None,
        )


@dataclass(slots=True)
class SessionRecord:
    """One visitor's session: who they said they are, and the recent log."""

    session_id: str
    created: float
    name: str = ""
    email: str = ""
    next_seq: int = 1
    #: The highest agent message the browser confirmed it received / showed.
    delivered_seq: int = 0
    read_seq: int = 0
    entries: list[LogEntry] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    def find(self, sender: str, message_id: str) -> LogEntry | None:
        for entry in reversed(self.entries):
            if entry.message_id == message_id and entry.sender == sender:
                return entry
        return None

    def since(self, seq: int) -> list[LogEntry]:
        """Entries after ``seq``, oldest first (all kept ones when ``seq`` is 0)."""
        return [entry for entry in self.entries if entry.seq > seq]

    def meta(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "name": self.name,
            "email": self.email,
            "next_seq": self.next_seq,
            "first_seq": self.entries[0].seq if self.entries else self.next_seq,
            "delivered_seq": self.delivered_seq,
            "read_seq": self.read_seq,
        }


class History:
    """Session records and logs, persisted in ``PluginState`` and cached in memory."""

    def __init__(
        self,
        state: PluginState,
        *,
        limit: int = 200,
        cache_size: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._limit = limit
        self._cache_size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, SessionRecord] = OrderedDict()
        self._pinned: dict[str, int] = {}

    def get(self, session_id: str) -> SessionRecord | None:
        """The session's record, or None when the session never wrote anything."""
        record = self._cache.get(session_id)
        if record is not None:
            self._cache.move_to_end(session_id)
            return record
        meta = self._state.get(f"session:{session_id}")
        if not isinstance(meta, dict):
            return None
        record = SessionRecord(
            session_id=session_id,
            created=float(meta.get("created", 0.0)),
            name=str(meta.get("name", "")),
            email=str(meta.get("email", "")),
            next_seq=int(meta.get("next_seq", 1)),
            delivered_seq=int(meta.get("delivered_seq", 0)),
            read_seq=int(meta.get("read_seq", 0)),
        )
        first = max(int(meta.get("first_seq", 1)), record.next_seq - self._limit)
        for seq in range(first, record.next_seq):
            data = self._state.get(f"entry:{session_id}:{seq}")
            if isinstance(data, dict):
                record.entries.append(LogEntry.from_json(data))
        self._remember(record)
        return record

    async def create(self, session_id: str) -> SessionRecord:
        record = SessionRecord(session_id=session_id, created=self._clock())
        # Cached before the first await, so a second tab finds this same record.
        self._remember(record)
        await self._save_meta(record)
        return record

    async def append(
        self,
        record: SessionRecord,
        sender: str,
        message_id: str,
        text: str,
        agent: str = "",
        *,
        survey: list[PostedQuestion] | None = None,
        task_number: int | None = None,
    ) -> LogEntry:
        """Add a message to the log and return it with its sequence number.

        Call it inside ``locked`` so that a duplicate check and the append are one step.
        """
        entry = LogEntry(
            seq=record.next_seq,
            sender=sender,
            message_id=message_id,
            text=text,
            at=self._clock(),
            agent=agent,
            survey=list(survey or ()),
            task_number=task_number,
        )
        await self._state.set(f"entry:{record.session_id}:{entry.seq}", entry.to_json())
        record.entries.append(entry)
        record.next_seq += 1
        dropped = record.entries[: max(0, len(record.entries) - self._limit)]
        del record.entries[: len(dropped)]
        await self._save_meta(record)
        for old in dropped:
            await self._state.delete(f"entry:{record.session_id}:{old.seq}")
        return entry

    async def save_entry(self, record: SessionRecord, entry: LogEntry) -> None:
        """Write back an entry changed in place (a survey question answered)."""
        await self._state.set(f"entry:{record.session_id}:{entry.seq}", entry.to_json())

    async def mark(self, record: SessionRecord, seq: int, *, read: bool) -> bool:
        """Note that the browser received (or showed) agent messages up to ``seq``.

        Returns whether anything changed. A number past the log is ignored.
        """
        seq = min(seq, record.last_seq)
        changed = False
        if seq > record.delivered_seq:
            record.delivered_seq = seq
            changed = True
        if read and seq > record.read_seq:
            record.read_seq = seq
            changed = True
        if changed:
            await self._save_meta(record)
        return changed

    async def set_identity(self, record: SessionRecord, name: str, email: str) -> None:
        if name:
            record.name = name
        if email:
            record.email = email
        await self._save_meta(record)

    @contextlib.asynccontextmanager
    async def locked(
        self, session_id: str, *, create: bool = False
    ) -> AsyncIterator[SessionRecord | None]:
        """The session's record, pinned in memory and with its lock held.

        None when the session has no record yet, unless ``create`` makes one
        (a visitor's first message or contact details).
        """
        self.pin(session_id)
        try:
            record = self.get(session_id)
            if record is None and create:
                record = await self.create(session_id)
            if record is None:
                yield None
                return
            async with record.lock:
                yield record
        finally:
            self.unpin(session_id)

    def pin(self, session_id: str) -> None:
        """Keep a session in memory while a browser is connected to it."""
        self._pinned[session_id] = self._pinned.get(session_id, 0) + 1

    def unpin(self, session_id: str) -> None:
        count = self._pinned.get(session_id, 0) - 1
        if count > 0:
            self._pinned[session_id] = count
        else:
            self._pinned.pop(session_id, None)
            self._evict()

    def _remember(self, record: SessionRecord) -> None:
        self._cache[record.session_id] = record
        self._evict()

    def _evict(self) -> None:
        # Oldest idle sessions go first; a connected session always stays.
        idle = [sid for sid in self._cache if sid not in self._pinned]
        excess = len(self._cache) - self._cache_size
        for session_id in idle[: max(0, excess)]:
            del self._cache[session_id]

    async def _save_meta(self, record: SessionRecord) -> None:
        await self._state.set(f"session:{record.session_id}", record.meta())
