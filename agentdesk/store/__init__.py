"""Persistence: the Store protocol and its embedded TinyDB implementation."""

from .errors import StoreError, StoreLocked, StoreReadOnly, StoreVersionError
from .memory import MemoryStore
from .protocol import Batch, Store, StoreStats

__all__ = [
    "Batch",
    "MemoryStore",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreReadOnly",
    "StoreStats",
    "StoreVersionError",
]
