"""Webhook items kept on disk from the webhook's answer until the desk has them.

Meta is answered as soon as a notification is on disk, and does not send it
again once answered. So each message and status is written here (a small
file, synced) before the answer, and removed only once the desk has stored
what came of it. What is left after a crash is handed over at the next
start; the desk drops a message it already had by its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from .events import Item, decode


class Spool:
    """One JSON file per item under ``folder``, named by the item's ``spool_key``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def put(self, items: list[Item]) -> None:
        """Write ``items``, each durable when this returns; OSError when the disk refuses."""
        await asyncio.to_thread(self._write, items)

    async def remove(self, keys: list[str]) -> None:
        await asyncio.to_thread(self._remove, keys)

    async def load(self) -> list[Item]:
        """Items left from an earlier run, oldest first; unreadable files are set aside."""
        return await asyncio.to_thread(self._load)

    def _path(self, key: str) -> Path:
        # Keys are hex digests with a letter prefix: safe as file names.
        return self.folder / f"{key}.json"

    def _write(self, items: list[Item]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for item in items:
            target = self._path(item.spool_key)
            temporary = target.with_name(target.name + ".part")
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(item.to_json(), handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)

    def _remove(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                self._path(key).unlink()

    def _load(self) -> list[Item]:
        if not self.folder.is_dir():
            return []
        found: list[Item] = []
        for path in self.folder.glob("*.json"):
            try:
                found.append(decode(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, KeyError, TypeError):
                # Kept for a person to look at, never retried in a loop.
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".unreadable"))
        return sorted(found, key=lambda item: item.received_at)
