"""Files customers send, fetched through the media API and stored under the
channel's data directory, up to a size cap.

The file's name on disk is made from the event id and a cleaned form of the
name the customer's client gave, so nothing a customer sends can point
outside the folder; the agent sees the name as sent (the desk cleans it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from agentdesk.plugin import InboundAttachment

from .api import MatrixApi
from .events import MediaRef
from .failures import MatrixError

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class Fetched:
    attachment: InboundAttachment
    #: A sentence for the agent when the file was not stored, else "".
    note: str = ""


class MediaStore:
    def __init__(
        self, api: MatrixApi, folder: Path, max_bytes: int, logger: logging.Logger
    ) -> None:
        self.api = api
        self.folder = folder
        self.max_bytes = max_bytes
        self.logger = logger

    async def fetch(self, event_id: str, media: MediaRef) -> Fetched:
        """Store the file, or list it without a path and say why.

        An unreachable homeserver raises ``MatrixError`` (the batch is synced
        again); a file the homeserver refuses or that is too large is listed.
        """
        listed = InboundAttachment(display_name(media.name), media.content_type, media.size, None)
        if self.max_bytes <= 0 or media.size > self.max_bytes:
            return Fetched(listed, self._too_large(media.name, media.size))
        try:
            data = await self._download(media)
        except _TooLarge as exc:
            return Fetched(
                InboundAttachment(listed.name, media.content_type, exc.size, None),
                self._too_large(media.name, exc.size),
            )
        except MatrixError as exc:
            if exc.temporary:
                raise
            self.logger.warning("file %s of %s could not be fetched: %s", media.name, event_id, exc)
            return Fetched(listed, f"({listed.name}: the homeserver did not give the file: {exc})")
        target = self.folder / _digest(event_id) / safe_file_name(media.name)
        try:
            await asyncio.to_thread(_write, target, data)
        except OSError as exc:
            self.logger.error("file %s of %s could not be stored: %s", media.name, event_id, exc)
            return Fetched(
                InboundAttachment(listed.name, media.content_type, len(data), None),
                f"({listed.name}: could not be stored on the desk)",
            )
        return Fetched(InboundAttachment(listed.name, media.content_type, len(data), str(target)))

    async def _download(self, media: MediaRef) -> bytes:
        async with self.api.download(media.server, media.media_id) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise _TooLarge(int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _TooLarge(size)
                chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, name: str, size: int) -> str:
        what = f"{_megabytes(size)}, " if size else ""
        return (
            f"({display_name(name)}: {what}over the {_megabytes(self.max_bytes)} limit; not stored)"
        )


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def display_name(name: str) -> str:
    """The name shown to the agent: one line, bounded."""
    return (" ".join(name.split()) or "attachment")[:200]


def safe_file_name(name: str) -> str:
    """A file name that cannot leave its folder nor upset a shell or file system."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    if not cleaned or cleaned in (".", ".."):
        cleaned = "attachment"
    stem, dot, extension = cleaned.rpartition(".")
    if dot and stem and 0 < len(extension) <= 10:
        return f"{stem[: MAX_NAME - len(extension) - 1]}.{extension}"
    return cleaned[:MAX_NAME]


def _digest(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()[:32]


def _megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
