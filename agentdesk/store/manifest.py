"""``manifest.json``: which checkpoint the files hold, written atomically.

A checkpoint writes every changed file under a temporary name, then the
manifest naming the checkpoint's sequence number and the renames still to do,
then performs the renames. The manifest is the commit point: a crash before
it leaves the previous checkpoint in force (the temporary files are removed
when the store opens); a crash after it is finished by redoing the renames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .durable import fsync_dir
from .errors import StoreError, StoreVersionError

MANIFEST_NAME = "manifest.json"
# The store layout this code reads and writes. Raise it when a change would
# make older code misread a store.
FORMAT_VERSION = 1


def software_version() -> str:
    try:
        return metadata.version("agentdesk")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(slots=True)
class Manifest:
    seq: int = 0
    generation: int = 0
    # [temporary path, final path], relative to the store directory.
    renames: list[list[str]] = field(default_factory=list)
    format: int = FORMAT_VERSION
    written_by: str = field(default_factory=software_version)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of the store in ``directory``, or None if there is none."""
    path = directory / MANIFEST_NAME
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        version = data["format"]
    except (ValueError, KeyError, TypeError):
        raise StoreError(
            f"{path} is damaged and the store cannot be opened; restore the directory from a "
            "backup or run `agentdesk doctor` on it"
        ) from None
    writer = data.get("written_by", "an unknown version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StoreVersionError(
            f"the store at {directory} was written by agentdesk {writer} (store format "
            f"{version}); this agentdesk ({software_version()}) reads formats up to "
            f"{FORMAT_VERSION}. Upgrade agentdesk, or run `agentdesk export` with the version "
            "that wrote the store and `agentdesk import` with this one"
        )
    try:
        return Manifest(
            seq=int(data["seq"]),
            generation=int(data["generation"]),
            renames=[[str(a), str(b)] for a, b in data.get("renames", [])],
            format=version,
            written_by=str(writer),
        )
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{path} is damaged: {raw[:200]!r}") from None


def write_manifest_file(path: Path, manifest: Manifest) -> None:
    """Write ``manifest`` to ``path`` and sync it (the caller renames it into place)."""
    data = {
        "format": manifest.format,
        "written_by": manifest.written_by,
        "seq": manifest.seq,
        "generation": manifest.generation,
        "renames": manifest.renames,
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically and durably."""
    temporary = directory / (MANIFEST_NAME + ".tmp")
    write_manifest_file(temporary, manifest)
    os.replace(temporary, directory / MANIFEST_NAME)
    fsync_dir(directory)
