"""The ``agentdesk`` command.

Errors are one readable line on stderr and a non-zero exit; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from agentdesk import __version__
from agentdesk.commands import modules_for
from agentdesk.commands.base import CommandError, Invocation
from agentdesk.core.config import Config, ConfigError, load_config, store_named_by
from agentdesk.store import StoreError


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command's parser; with ``argv``, only the subcommand it names is registered."""
    parser = argparse.ArgumentParser(
        prog="agentdesk",
        description="A keyboard-driven terminal workstation for customer-support agents.",
    )
    parser.add_argument("--version", action="version", version=f"agentdesk {__version__}")
    parser.add_argument("--config", type=Path, help="config file (default: the user config)")
    parser.add_argument("--store", type=Path, help="store directory (overrides the config)")
    parser.add_argument(
        "--state",
        type=Path,
        help="folder of the console's drafts and preferences (overrides the config)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in modules_for(sys.argv[1:] if argv is None else argv):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            if args.command != "doctor":
                raise
            # The doctor reports a broken config in its table, with the other checks.
            from agentdesk.commands.doctor import run_doctor

            # The store it examines is the one the config names, when that much
            # of it can be read; never the default store in its place.
            store = args.store or store_named_by(args.config)
            invocation = Invocation(args=args, config=Config(), store_path=store or Path())
            return run_doctor(invocation, config_error=str(exc), store_known=store is not None)
        invocation = Invocation(args=args, config=config, store_path=args.store or config.store)
        handler = getattr(args, "handler", None)
        if handler is None:
            from agentdesk.commands.console import run_console

            return run_console(invocation)
        return int(handler(invocation) or 0)
    except KeyboardInterrupt:
        return 130
    except (CommandError, ConfigError, StoreError) as exc:
        if args.debug:
            raise
        print(f"agentdesk: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        kind = type(exc).__name__
        print(f"agentdesk: unexpected {kind}: {exc} (--debug shows details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
