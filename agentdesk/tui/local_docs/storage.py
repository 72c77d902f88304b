"""A TinyDB storage that replaces its JSON file atomically.

TinyDB's stock ``JSONStorage`` truncates the file and writes it again in place:
a crash or a full disk in the middle leaves half a file. This one writes the
whole database to a temporary file in the same directory, flushes and syncs it,
renames it over the old one (``os.replace`` is atomic on one file system), then
syncs the directory so the rename itself survives a power cut. A reader sees
the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage


class DamagedFile(ValueError):
    """The file is not a TinyDB database (not JSON, or not tables of documents)."""


class AtomicJSONStorage(Storage):
    """TinyDB storage in one human-readable JSON file, replaced whole on each write."""

    def __init__(self, path: str | os.PathLike[str], *, indent: int | None = 2) -> None:
        super().__init__()
        self.path = Path(path)
        self.indent = indent

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None  # nothing written yet: TinyDB starts empty
        if not raw.strip():
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DamagedFile(f"not UTF-8 text at byte {exc.start}") from None
        except json.JSONDecodeError as exc:
            raise DamagedFile(f"not JSON at line {exc.lineno} column {exc.colno}") from None
        check_tables(data)
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=self.indent)
        folder = self.path.parent
        # mkstemp makes the file readable by its owner only: drafts quote customers.
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            # The old file stays as it was; the half-written copy goes.
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        sync_directory(folder)

    def close(self) -> None:
        """Nothing to release: no file stays open between reads and writes."""


def check_tables(data: object) -> None:
    """Raise DamagedFile unless ``data`` is ``{table: {doc_id: {document}}}``."""
    if not isinstance(data, dict):
        raise DamagedFile(f"expected tables, got {type(data).__name__}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise DamagedFile(f"table {name!r} is not a mapping")
        for doc_id, document in table.items():
            if not isinstance(document, dict):
                raise DamagedFile(f"document {doc_id} of table {name!r} is not a mapping")


def sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system allows syncing a directory)."""
    if os.name == "nt":
        return  # Windows cannot open a directory for syncing; NTFS journals renames
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
