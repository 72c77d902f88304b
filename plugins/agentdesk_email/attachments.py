"""Saving a message's attachments under the channel's data directory."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.plugin import InboundAttachment

from .parsing import ParsedPart

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME = 120


@dataclass(slots=True)
class StoredAttachments:
    attachments: list[InboundAttachment] = field(default_factory=list)
    #: One sentence per attachment that was not stored, and why.
    notes: list[str] = field(default_factory=list)


def store_attachments(
    parts: list[ParsedPart], data_dir: Path, message_key: str, max_bytes: int
) -> StoredAttachments:
    """Write each part under ``data_dir/attachments/<digest of message_key>/``.

    Parts over ``max_bytes`` are listed without a path, with a note. Storing
    the same message twice writes the same files again (no duplicates).
    """
    result = StoredAttachments()
    if not parts:
        return result
    folder = data_dir / "attachments" / hashlib.sha256(message_key.encode()).hexdigest()[:32]
    used: set[str] = set()
    for part in parts:
        name = display_name(part.filename)
        size = part.size
        if part.payload is None or size > max_bytes:
            result.notes.append(
                f"{name}: {_megabytes(size)} is over the {_megabytes(max_bytes)} limit; not stored"
            )
            result.attachments.append(InboundAttachment(name, part.content_type, size, None))
            continue
        file_name = _unique(safe_file_name(name), used)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file_name
            temporary = path.with_name(path.name + ".part")
            temporary.write_bytes(part.payload)
            os.replace(temporary, path)
        except OSError as exc:
            result.notes.append(f"{name}: could not be stored ({exc.strerror or exc})")
            result.attachments.append(InboundAttachment(name, part.content_type, size, None))
            continue
        result.attachments.append(InboundAttachment(name, part.content_type, size, str(path)))
    return result


def display_name(filename: str) -> str:
    """The name shown to the agent: one line, bounded."""
    name = " ".join(filename.split()) or "attachment"
    return name[:200]


def safe_file_name(name: str) -> str:
    """A file name that cannot escape the folder nor upset a shell or file system."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    if not cleaned or cleaned in (".", ".."):
        cleaned = "attachment"
    stem, dot, extension = cleaned.rpartition(".")
    if dot and 0 < len(extension) <= 10 and stem:
        stem = stem[: MAX_NAME - len(extension) - 1]
        return f"{stem}.{extension}"
    return cleaned[:MAX_NAME]


def _unique(name: str, used: set[str]) -> str:
    candidate = name
    counter = 2
    while candidate.lower() in used:
        stem, dot, extension = name.rpartition(".")
        candidate = f"{stem} ({counter}).{extension}" if dot and stem else f"{name} ({counter})"
        counter += 1
    used.add(candidate.lower())
    return candidate


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
