"""What every subcommand receives."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from agentdesk.core.config import Config
from agentdesk.store import open_store


class CommandError(Exception):
    """A command failed for a reason the user can act on."""


@dataclass(slots=True)
class Invocation:
    args: argparse.Namespace
    config: Config
    store_path: Path


__all__ = ["CommandError", "Invocation", "open_store"]
