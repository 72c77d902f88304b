"""Pictures, voice notes, videos, stickers and files: fetched from Meta and kept
in the channel's data folder.

Meta gives a media id; ``GET /{media-id}`` names a short-lived URL, which
is fetched with the same bearer token. Each file is stored under
``<data_dir>/media/<message>/`` as ``image-1.jpg``, ``voice-1.ogg``,
``document-1.pdf``...: names the channel makes, never the customer's. A file
over ``max_media_bytes``, or one that cannot be fetched, is not stored and
the message's text says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from agentdesk.plugin import InboundAttachment

from .failures import GraphError
from .graph import GraphApi
from .rendering import MediaRef

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True, slots=True)
class Fetched:
    """One media file: the attachment when stored, else a line saying why not."""

    attachment: InboundAttachment | None
    note: str = ""


class MediaStore:
    def __init__(self, api: GraphApi, folder: Path, limit: int, logger: logging.Logger) -> None:
        self.api = api
        self.folder = folder
        self.limit = limit
        self.logger = logger

    async def fetch(self, message_id: str, index: int, ref: MediaRef) -> Fetched:
        what = describe(ref)
        if self.limit <= 0:
            return Fetched(None, f"[{what}: not downloaded (the channel downloads no media)]")
        try:
            info = await self.api.media_info(ref.media_id)
            if isinstance(info, GraphError):
                raise _Refused(f"Meta answered {info.tag} {info.message}".strip())
            url = info.get("url")
            if not isinstance(url, str) or not url:
                raise _Refused("Meta named no URL for it")
            told_mime = str(info.get("mime_type") or "")
            size = _size(info.get("file_size"))
            if size is not None and size > self.limit:
                raise _TooLarge(size)
            data = await self._download(url)
        except _TooLarge as exc:
            self.logger.info("media %d of a message is over the size limit", index)
            return Fetched(
                None,
                f"[{what} ({megabytes(exc.size)}): not downloaded, larger than the "
                f"channel's {megabytes(self.limit)} limit]",
            )
        except (httpx.HTTPError, _Refused, ValueError) as exc:
            self.logger.warning("media %d of a message could not be fetched: %s", index, exc)
            return Fetched(None, f"[{what}: could not be downloaded from WhatsApp]")
        mime = ref.mime_type or told_mime or "application/octet-stream"
        target = self.folder / _folder_name(message_id) / file_name(ref, mime, index)
        try:
            await asyncio.to_thread(_write, target, data)
        except OSError as exc:
            self.logger.warning("media %d of a message could not be stored: %s", index, exc)
            return Fetched(None, f"[{what}: could not be stored on the desk]")
        shown = display_name(ref.filename) or target.name
        return Fetched(InboundAttachment(shown, mime, len(data), str(target)))

    async def _download(self, url: str) -> bytes:
        async with self.api.download(url) as response:
            if response.status_code != 200:
                raise _Refused(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.limit:
                raise _TooLarge(int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.limit:
                    raise _TooLarge(size)
                chunks.append(chunk)
        return b"".join(chunks)


class _Refused(Exception):
    pass


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def describe(ref: MediaRef) -> str:
    """``voice note``, ``document invoice.pdf``, ``image``..."""
    if ref.kind == "audio" and ref.voice:
        return "voice note"
    name = display_name(ref.filename)
    return f"{ref.kind} {name}" if name else ref.kind


def file_name(ref: MediaRef, mime: str, index: int) -> str:
    """``image-1.jpg`` for the first file, a JPEG picture."""
    kind = "voice" if ref.kind == "audio" and ref.voice else ref.kind
    bare = mime.split(";", 1)[0].strip().lower()
    extension = mimetypes.guess_extension(bare) or ""
    if extension == ".jpe":  # some platforms' first guess for image/jpeg
        extension = ".jpg"
    if bare in ("audio/ogg", "audio/opus"):
        extension = ".ogg"
    return f"{kind}-{index}{extension}"


def display_name(filename: str) -> str:
    """The customer's file name made harmless to show: no folders, no controls."""
    name = _UNSAFE_NAME.sub("_", filename).strip(" ._")
    return name[:120]


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _folder_name(message_id: str) -> str:
    # wamids hold "=", "+" and "/": the folder is named by a digest instead.
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
