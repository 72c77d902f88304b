"""``HubConnector``: the console's ``DeskConnector`` in team mode."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from agentdesk.api import DeskError, ErrorCode

from .client import RemoteDeskClient
from .journal import CommandJournal


def client_ssl(cafile: Path | None = None) -> ssl.SSLContext:
    """Verification as a browser does it, trusting ``cafile`` too when given
    (a hub with a certificate of the team's own)."""
    if cafile is not None and not cafile.is_file():
        raise DeskError(f"{cafile}: no such CA file", ErrorCode.INVALID)
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


class HubConnector:
    """Connects to the hub at ``url`` as the agent whose token is ``token``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        cafile: Path | None = None,
        journal: CommandJournal | None = None,
        presence: bool = True,
    ) -> None:
        """``presence``: False for a tool that asks the hub, not a console."""
        self.url = url
        self._presence = presence
        self._token = token
        self._cafile = cafile
        self._journal = journal
        self.client: RemoteDeskClient | None = None

    async def open(self) -> RemoteDeskClient:
        context = client_ssl(self._cafile) if self.url.startswith("wss:") else None
        client = RemoteDeskClient(
            self.url, self._token, journal=self._journal, ssl=context, presence=self._presence
        )
        await client.connect()
        self.client = client
        return client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()
        if self._journal is not None:
            await asyncio.to_thread(self._journal.close)
