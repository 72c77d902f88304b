"""Incoming messages kept on disk between the webhook's answer and the desk.

The webhook must answer Twilio quickly and never wait for the desk, and
Twilio does not send a message again once it was answered. So the webhook
writes the message here (a small file, synced) before answering, and the
file is removed only once the desk has stored the message. Whatever is left
after a crash is handed to the desk again at the next start; the desk drops
what it already had by MessageSid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from .inbound import IncomingSms


class Spool:
    """One JSON file per MessageSid under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, sid: str) -> Path:
        # Sids are checked to be letters and hex digits before they get here.
        return self.folder / f"{sid}.json"

    async def put(self, sms: IncomingSms) -> None:
        await asyncio.to_thread(self._write, sms)

    async def remove(self, sid: str) -> None:
        await asyncio.to_thread(self._remove, sid)

    async def load(self) -> list[IncomingSms]:
        """Messages left from an earlier run, oldest first; unreadable files are set aside."""
        return await asyncio.to_thread(self._load)

    def _write(self, sms: IncomingSms) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(sms.sid)
        temporary = target.with_name(target.name + ".part")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(sms.to_json(), handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)

    def _remove(self, sid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sid).unlink()

    def _load(self) -> list[IncomingSms]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            try:
                sms = IncomingSms.from_json(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                # Kept for a person to look at, never retried in a loop.
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".unreadable"))
                continue
            found.append(sms)
        return sorted(found, key=lambda sms: sms.received_at)
