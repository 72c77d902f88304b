"""``agentdesk serve`` as an object: the embedded desk, headless, behind a hub.

The desk (store, search index, channels under supervision) runs as it does
in a console's process; the hub and the channels share one HTTP server, which
listens before the channels start, so webhooks and consoles are answered from
the first moment. ``stop`` drains in the order that loses nothing: consoles
told the hub restarts once their commands are done, no new webhooks, the
channels stopped and their queues handed to the desk, the store checkpointed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agentdesk.api.wire import MAX_FRAME
from agentdesk.core.config import Config, HttpConfig
from agentdesk.core.host.http_server import DeskHttpServer
from agentdesk.core.runtime import EmbeddedDesk

from .server import Hub

log = logging.getLogger("agentdesk.hub")


class HubService:
    """The hub and its desk; ``start`` returns the address it listens on."""

    def __init__(
        self,
        config: Config,
        store_path: Path,
        *,
        http: HttpConfig | None = None,
        offline_grace: float | None = None,
    ) -> None:
        hub = config.hub
        tls = (str(hub.certfile), str(hub.keyfile)) if hub.certfile and hub.keyfile else None
        # No permessage-deflate: compressing each update once per console was
        # most of a busy hub's time (docs/benchmarks.md, "The hub under load").
        self.http = DeskHttpServer(
            http or config.http, ssl=tls, ws_max_size=MAX_FRAME, ws_compression=False
        )
        self.embedded = EmbeddedDesk(config, store_path, http=self.http)
        self.hub: Hub | None = None
        self._offline_grace = offline_grace

    async def start(self) -> str:
        await self.embedded.open()
        assert self.embedded.desk is not None
        extra = {} if self._offline_grace is None else {"offline_grace": self._offline_grace}
        self.hub = Hub(self.embedded.desk, self.http, inbound=self.inbound_sizes, **extra)
        self.hub.start()
        url = await self.http.start()
        agents = self.embedded.desk.agent_list()
        if not any(not a.revoked for a in agents):
            log.warning(
                "no agent can connect yet: add one with `agentdesk agents add NAME --role admin`"
            )
        return url

    @property
    def desk_url(self) -> str:
        """The consoles' address (``ws://…/desk`` or ``wss://…/desk``)."""
        base = self.http.base_url or ""
        return base.replace("https://", "wss://").replace("http://", "ws://") + "/desk"

    def inbound_sizes(self) -> dict[str, int]:
        """Messages waiting between each channel and the desk."""
        channels = self.embedded.channels
        if channels is None:
            return {}
        return {name: pump.queue.qsize() for name, pump in channels.pumps.items()}

    async def stop(self, drain_timeout: float = 10.0) -> None:
        if self.hub is not None:
            await self.hub.drain(drain_timeout)
        await self.http.stop()
        await self.embedded.close()
        if self.hub is not None:
            await self.hub.close()
            self.hub = None
