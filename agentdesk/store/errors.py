"""Errors a store raises; each message says what happened and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Something is wrong with the store; the message is meant for a person."""


class StoreLocked(StoreError):
    """Another process has the store open."""


class StoreVersionError(StoreError):
    """The store was written by a version this one cannot read."""


class StoreReadOnly(StoreError):
    """The store directory cannot be written."""


class StoreDamaged(StoreError):
    """A file the store needs is missing or damaged; the message names it."""


class StoreConflict(StoreError):
    """A change planned on data that changed meanwhile: read again and retry."""


class DuplicateKey(StoreConflict):
    """A channel delivered a message (or call) the store already holds."""
