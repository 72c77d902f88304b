"""Persistence: the Store protocol and its embedded TinyDB implementation."""

from .errors import StoreError, StoreLocked, StoreReadOnly, StoreVersionError
from .protocol import Batch, Store, StoreStats

__all__ = [
    "Batch",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreReadOnly",
    "StoreStats",
    "StoreVersionError",
]
