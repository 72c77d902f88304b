"""Subcommands of the ``agentdesk`` command, one module each.

Each module has ``add_parser(subparsers)``, which sets ``handler`` to a
function taking an ``Invocation`` and returning the exit code.
"""

from __future__ import annotations

from types import ModuleType

from . import console, data, doctor, plugins, search

COMMANDS: list[ModuleType] = [console, data, search, doctor, plugins]
