"""Persistence: the Store protocol, SQLite (embedded) and memory (tests) engines."""

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
]
