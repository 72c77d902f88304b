"""Which hub a command talks to, and as whom: ``--hub``, then ``[hub]`` in config.

The token is never an argument (other users of the machine see arguments):
it comes from ``AGENTDESK_TOKEN`` or from ``[hub] token`` (which may itself
say ``"${AGENTDESK_TOKEN}"``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import CommandError, Invocation

TOKEN_VARIABLE = "AGENTDESK_TOKEN"


@dataclass(frozen=True, slots=True)
class HubTarget:
    url: str
    token: str
    cafile: Path | None


def add_hub_arguments(parser: Any) -> None:
    parser.add_argument(
        "--hub",
        metavar="URL",
        help="connect to the hub at URL (ws:// or wss://…/desk) instead of opening the store; "
        f"the token comes from ${TOKEN_VARIABLE} or [hub] token",
    )
    parser.add_argument("--cafile", type=Path, help="CA bundle to trust for a wss:// hub")


def hub_target(inv: Invocation, *, from_config: bool = True) -> HubTarget | None:
    """The hub to connect to, or None for the store itself (no hub named)."""
    hub = inv.config.hub
    url = getattr(inv.args, "hub", None) or (hub.url if from_config else None)
    if not url:
        return None
    url = url.rstrip("/")
    if not url.startswith(("ws://", "wss://")):
        raise CommandError(f"--hub: expected a ws:// or wss:// address, got {url!r}")
    if not url.endswith("/desk"):
        url += "/desk"
    token = os.environ.get(TOKEN_VARIABLE) or hub.token
    if not token:
        why = hub.token_problem or (
            f"set {TOKEN_VARIABLE} (or [hub] token in {inv.config.source}) to your agent token"
        )
        raise CommandError(f"no token for the hub at {url}: {why}")
    cafile = getattr(inv.args, "cafile", None) or hub.cafile
    return HubTarget(url, token, cafile)


@contextlib.asynccontextmanager
async def tool_client(target: HubTarget) -> AsyncIterator[Any]:
    """A client of the hub for a command-line tool: it asks, it is not a
    console (its agent does not show online), and it is closed after."""
    from agentdesk.remote.connector import HubConnector

    connector = HubConnector(target.url, target.token, cafile=target.cafile, presence=False)
    client = await connector.open()
    try:
        yield client
    finally:
        await connector.close()
