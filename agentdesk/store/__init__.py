"""Persistence: the Store protocol, SQLite (embedded) and memory (tests) engines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import (
    DuplicateKey,
    StoreConflict,
    StoreDamaged,
    StoreError,
    StoreLocked,
    StoreReadOnly,
    StoreVersionError,
)
from .protocol import Batch, Change, Store, StoreStats, WriteGroup

if TYPE_CHECKING:
    from .sqlite_store import SqliteStore


def open_store(path: Path | str, *, read_only: bool = False) -> SqliteStore:
    """Open (or create) the embedded store at ``path``; ``read_only`` takes no
    lock and reads what a running desk has committed."""
    from .sqlite_store import SqliteStore

    return SqliteStore.open(Path(path), read_only=read_only)


__all__ = [
    "Batch",
    "Change",
    "DuplicateKey",
    "Store",
    "StoreConflict",
    "StoreDamaged",
    "StoreError",
    "StoreLocked",
    "StoreReadOnly",
    "StoreStats",
    "StoreVersionError",
    "WriteGroup",
    "open_store",
]
