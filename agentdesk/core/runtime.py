"""The embedded desk: store, desk and channels in the console's process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from agentdesk.core.collector import settle_after_load
from agentdesk.core.config import Config
from agentdesk.core.desk import Desk
from agentdesk.core.ingest import IngestRules
from agentdesk.core.local_client import LocalDeskClient
from agentdesk.store import Store, open_store

log = logging.getLogger("agentdesk.runtime")

SNOOZE_CHECK_SECONDS = 5.0


class EmbeddedDesk:
    """A ``DeskConnector`` that runs the whole desk inside the caller's event loop.

    ``open`` opens the store (on a thread), starts the configured channels and
    returns a ``LocalDeskClient``; ``close`` stops them in reverse order.
    """

    def __init__(self, config: Config, store_path: Path, *, store: Store | None = None) -> None:
        self.config = config
        self.store_path = store_path
        self._store = store
        self.desk: Desk | None = None
        self.channels = None
        self.warnings: list[str] = []
        self._ticker: asyncio.Task[None] | None = None

    async def open(self) -> LocalDeskClient:
        from agentdesk.core.channel_runtime import ChannelRuntime

        store = self._store or await asyncio.to_thread(open_store, self.store_path)
        self._store = store
        self.warnings.extend(getattr(store, "warnings", []))
        rules = IngestRules(
            reopen_window=self.config.reopen_window_days * 86400,
            default_priority=self.config.default_priority,
        )
        self.desk = await asyncio.to_thread(Desk, store, rules=rules)
        settle_after_load()
        self.channels = ChannelRuntime(
            self.desk, self.config, data_root=self.store_path / "channels"
        )
        await self.channels.start()
        self._ticker = asyncio.create_task(self._tick(), name="agentdesk-snooze")
        return LocalDeskClient(self.desk, self.config.agent)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(SNOOZE_CHECK_SECONDS)
            if self.desk is not None:
                try:
                    await self.desk.wake_snoozed()
                except Exception:
                    log.exception("waking snoozed tasks failed")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self.channels is not None:
            await self.channels.stop()
            self.channels = None
        store, self._store = self._store, None
        if self.desk is not None:
            if store is not None:
                # On the store's thread, after whatever it was still given.
                await self.desk.read(store.close)
            self.desk.close()
        elif store is not None:
            await asyncio.to_thread(store.close)
