"""What every subcommand receives, and opening the configured desk's parts."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from agentdesk.core.config import Config
from agentdesk.store import Store


class CommandError(Exception):
    """A command failed for a reason the user can act on."""


@dataclass(slots=True)
class Invocation:
    args: argparse.Namespace
    config: Config
    store_path: Path


def open_store(path: Path) -> Store:
    """Open (or create) the persistent store at ``path``."""
    from agentdesk.store.tiny import TinyStore

    return TinyStore.open(path)


def index_path(store_path: Path) -> Path:
    """The search index lives beside the store it is derived from."""
    return store_path / "search.sqlite"
