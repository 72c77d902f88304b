"""Webhook items kept on disk between the webhook's answer and the desk.

A webhook must answer Twilio quickly and never wait for the desk, and
Twilio does not send a request again once it was answered. So the webhook
writes what it got here (a small file, synced) before answering, and the
file is removed only once the desk has stored what came of it. Whatever is
left after a crash is handed over again at the next start; the desk drops
what it already had by its external id.

The SMS channel spools incoming messages; the voice channel spools every
callback of a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar


class Spooled(Protocol):
    """What can be spooled: a file-name-safe key, a time, and a JSON form."""

    @property
    def sid(self) -> str: ...
    @property
    def received_at(self) -> float: ...
    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Spooled)


class Spool(Generic[T]):
    """One JSON file per item key under ``folder``; ``decode`` reads one back."""

    def __init__(self, folder: Path, decode: Callable[[dict[str, Any]], T]) -> None:
        self.folder = folder
        self.decode = decode

    def _path(self, sid: str) -> Path:
        # Keys are checked to be letters, digits and dashes before they get here.
        return self.folder / f"{sid}.json"

    async def put(self, item: T) -> None:
        await asyncio.to_thread(self._write, item)

    async def remove(self, sid: str) -> None:
        await asyncio.to_thread(self._remove, sid)

    async def load(self) -> list[T]:
        """Items left from an earlier run, oldest first; unreadable files are set aside."""
        return await asyncio.to_thread(self._load)

    def _write(self, item: T) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(item.sid)
        temporary = target.with_name(target.name + ".part")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(item.to_json(), handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)

    def _remove(self, sid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sid).unlink()

    def _load(self) -> list[T]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            try:
                item = self.decode(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                # Kept for a person to look at, never retried in a loop.
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".unreadable"))
                continue
            found.append(item)
        return sorted(found, key=lambda item: item.received_at)
