"""MMS pictures and files: fetched from Twilio and kept in the channel's data folder.

Each file is stored under ``<data_dir>/media/<MessageSid>/`` as ``image-1.jpg``,
``video-2.mp4``... A file that is too large, cannot be fetched, or is not to
be downloaded at all arrives as an attachment named by its link instead, so
the agent can still open it from the Twilio console.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from agentdesk.plugin import InboundAttachment

from .inbound import IncomingSms, Media
from .settings import TwilioSettings


class MediaStore:
    """Turns a message's media links into attachments."""

    def __init__(
        self,
        settings: TwilioSettings,
        client: httpx.AsyncClient,
        folder: Path,
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self.client = client
        self.folder = folder
        self.logger = logger
        self._api_origin = _origin(settings.api_base_url)

    async def attachments(self, sms: IncomingSms) -> tuple[InboundAttachment, ...]:
        found = []
        for index, media in enumerate(sms.media, start=1):
            found.append(await self._one(sms.sid, index, media))
        if sms.dropped_media:
            self.logger.warning(
                "message %s announced %d media beyond the %d kept",
                sms.sid,
                sms.dropped_media,
                len(sms.media),
            )
        return tuple(found)

    async def _one(self, message_sid: str, index: int, media: Media) -> InboundAttachment:
        link = InboundAttachment(media.url, media.content_type, 0, None)
        if not self.settings.download_media or self.settings.max_media_bytes <= 0:
            return link
        try:
            data = await self._fetch(media.url)
        except _TooLarge as exc:
            self.logger.info(
                "media %d of %s is over the size limit; kept as a link", index, message_sid
            )
            return InboundAttachment(media.url, media.content_type, exc.size, None)
        except (httpx.HTTPError, _Refused) as exc:
            self.logger.warning(
                "media %d of %s could not be fetched (%s); kept as a link", index, message_sid, exc
            )
            return link
        name = file_name(media.content_type, index)
        target = self.folder / message_sid / name
        try:
            await asyncio.to_thread(_write, target, data)
        except OSError as exc:
            self.logger.warning("media %d of %s could not be stored: %s", index, message_sid, exc)
            return InboundAttachment(media.url, media.content_type, len(data), None)
        return InboundAttachment(name, media.content_type, len(data), str(target))

    async def _fetch(self, url: str) -> bytes:
        limit = self.settings.max_media_bytes
        # Twilio's media links want the account's login when HTTP auth is on
        # for media; it is only ever sent to Twilio's own API host.
        user, password = self.settings.api_login
        auth = httpx.BasicAuth(user, password) if _origin(url) == self._api_origin else None
        request = self.client.stream(
            "GET", url, auth=auth, follow_redirects=True, timeout=self.settings.timeout * 3
        )
        async with request as response:
            if response.status_code != 200:
                raise _Refused(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge(int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise _TooLarge(size)
                chunks.append(chunk)
        return b"".join(chunks)


class _Refused(Exception):
    pass


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def file_name(content_type: str, index: int) -> str:
    """``image-1.jpg`` for the first file of type image/jpeg."""
    main = content_type.split("/", 1)[0].strip().lower()
    kind = main if main in ("image", "video", "audio", "text") else "file"
    bare = content_type.split(";", 1)[0].strip().lower()
    extension = mimetypes.guess_extension(bare) or ""
    if extension == ".jpe":  # some platforms' first guess for image/jpeg
        extension = ".jpg"
    return f"{kind}-{index}{extension}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
