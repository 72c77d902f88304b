"""Subcommands of the ``agentdesk`` command, one module each.

Each module has ``add_parser(subparsers)``, which sets ``handler`` to a
function taking an ``Invocation`` and returning the exit code. A run imports
only the module of its own subcommand (``modules_for``): ``agentdesk search``
need not load the console, nor the console the plugin checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from types import ModuleType

# Subcommand -> the module that registers it.
OWNERS = {
    "console": "console",
    "demo": "console",
    "export": "data",
    "import": "data",
    "stats": "data",
    "search": "search",
    "reindex": "search",
    "doctor": "doctor",
    "plugins": "plugins",
    "serve": "serve",
    "agents": "agents",
    "route": "route",
    "report": "report",
}
# Global options that take a value, so their value is not taken for a subcommand.
_VALUED = {"--config", "--store", "--state"}


def modules_for(argv: Sequence[str]) -> list[ModuleType]:
    """The command modules to register for ``argv``: its subcommand's alone,
    or all of them to list them (help, an unknown subcommand)."""
    command = None
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _VALUED:
            skip = True
        elif token in ("-h", "--help"):
            break
        elif not token.startswith("-"):
            command = token
            break
    else:
        command = "console"
    names = [OWNERS[command]] if command in OWNERS else dict.fromkeys(OWNERS.values())
    return [import_module(f"{__name__}.{name}") for name in names]
