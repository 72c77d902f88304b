"""The embedded desk: store, search index, desk and channels in the console's process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from agentdesk.core.collector import settle_after_load
from agentdesk.core.config import Config
from agentdesk.core.desk import Desk
from agentdesk.core.ingest import IngestRules
from agentdesk.core.local_client import LocalDeskClient
from agentdesk.store import Store

log = logging.getLogger("agentdesk.runtime")

SNOOZE_CHECK_SECONDS = 5.0


def open_store(path: Path) -> Store:
    """Open (or create) the persistent store at ``path``."""
    from agentdesk.store.tiny import TinyStore

    return TinyStore.open(path)


def index_path(store_path: Path) -> Path:
    """The search index lives beside the store it is derived from."""
    return store_path / "search.sqlite"


def open_index(path: Path, store: Store) -> Any:
    """The search index of ``store``, level with it, written by a process of its own
    (so indexing runs on another core); in this process if that cannot start."""
    from agentdesk.search.index import SearchIndex
    from agentdesk.search.index_process import IndexProcess, IndexWriterFailed

    try:
        return IndexProcess.start(path, store)
    except (OSError, IndexWriterFailed) as exc:
        log.warning("search index writer process did not start (%s); indexing in-process", exc)
    index = SearchIndex.open(path)
    index.catch_up(store)
    return index


class EmbeddedDesk:
    """A ``DeskConnector`` that runs the whole desk inside the caller's event loop.

    ``open`` opens the store and its search index (catching the index up if a
    crash left it behind), starts the configured channels and returns a
    ``LocalDeskClient``; ``close`` stops them in reverse order.
    """

    def __init__(self, config: Config, store_path: Path, *, store: Store | None = None) -> None:
        self.config = config
        self.store_path = store_path
        self._store = store
        self.desk: Desk | None = None
        self.index = None
        self.channels = None
        self.warnings: list[str] = []
        self._ticker: asyncio.Task[None] | None = None

    async def open(self) -> LocalDeskClient:
        from agentdesk.core.channel_runtime import ChannelRuntime

        store = self._store or await asyncio.to_thread(open_store, self.store_path)
        self._store = store
        settle_after_load()
        self.warnings.extend(getattr(store, "warnings", []))
        index = await asyncio.to_thread(open_index, index_path(self.store_path), store)
        if store.seq:  # a new store has nothing to lose: its new index is no news
            self.warnings.extend(index.warnings)
        self.index = index
        rules = IngestRules(
            reopen_window=self.config.reopen_window_days * 86400,
            default_priority=self.config.default_priority,
        )
        self.desk = Desk(store, index=index, rules=rules)
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
                    self.desk.wake_snoozed()
                except Exception:
                    log.exception("waking snoozed tasks failed")
            if self.index is not None:
                try:
                    # Grouped index writes reach the file even when nobody searches.
                    await asyncio.to_thread(self.index.refresh)
                except Exception:
                    log.exception("writing the search index failed")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self.channels is not None:
            await self.channels.stop()
            self.channels = None
        if self.desk is not None:
            self.desk.close()
        if self.index is not None:
            self.index.close()
            self.index = None
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None
