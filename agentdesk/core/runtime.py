"""The embedded desk: store, desk and channels in the console's process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk.core.config import Config
from agentdesk.core.desk import Desk
from agentdesk.core.desk.ingest import IngestRules
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.desk.routing_pass import RoutingPass
from agentdesk.core.host.collector import settle_after_load
from agentdesk.core.language import LanguageDetector, LanguageUnavailable
from agentdesk.domain import Status
from agentdesk.store import Store, open_store

if TYPE_CHECKING:
    from agentdesk.core.host.channel_runtime import ChannelRuntime
    from agentdesk.core.host.http_server import DeskHttpServer

log = logging.getLogger("agentdesk.runtime")

SNOOZE_CHECK_SECONDS = 5.0
#: How often the ids of long-applied commands are dropped.
FORGET_COMMANDS_SECONDS = 3600.0


class EmbeddedDesk:
    """A ``DeskConnector`` that runs the whole desk inside the caller's event loop.

    ``open`` opens the store (on a thread) and returns a ``LocalDeskClient``
    at once, so the console shows its inbox while the configured channels are
    found and started behind it (each appears as it registers); ``close``
    stops them in reverse order.
    """

    def __init__(
        self,
        config: Config,
        store_path: Path,
        *,
        store: Store | None = None,
        http: DeskHttpServer | None = None,
    ) -> None:
        """``http``: the HTTP server the channels share with others (the hub's);
        by default the channels have one of their own, started when needed."""
        self.config = config
        self.http = http
        self.store_path = store_path
        self._store = store
        self.desk: Desk | None = None
        self.channels: ChannelRuntime | None = None
        self.warnings: list[str] = []
        self._ticker: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._opening: concurrent.futures.Future | None = None
        self._metrics: asyncio.Task[Any] | None = None

    async def open(self) -> LocalDeskClient:
        from agentdesk.core.host.channel_runtime import ChannelRuntime

        settle_after_load()
        # The store, the desk and the first snapshot in one trip to a thread
        # (begun by ``prefetch`` if it was called): the console paints its
        # inbox as soon as they are there.
        opening = self._opening or self.prefetch()
        self._opening = None
        self.desk, first = await asyncio.wrap_future(opening)
        self.warnings.extend(getattr(self._store, "warnings", []))
        self.channels = ChannelRuntime(
            self.desk, self.config, data_root=self.store_path / "channels", http=self.http
        )
        self._starting = asyncio.create_task(self._start_channels(), name="agentdesk-channels")
        self._ticker = asyncio.create_task(self._tick(), name="agentdesk-snooze")
        if self.config.sla.targets:
            # Service-level clocks need the live figures: folded in the background.
            self._metrics = asyncio.create_task(self.desk.live_metrics(), name="agentdesk-metrics")
        return LocalDeskClient(self.desk, self.config.agent, first_snapshot=first)

    def prefetch(self) -> concurrent.futures.Future:
        """Begin opening the store, the desk and the first snapshot on a thread
        of their own, before the event loop runs (while the console loads)."""
        if self._opening is None:
            opening: concurrent.futures.Future = concurrent.futures.Future()
            self._opening = opening
            threading.Thread(
                target=self._open_desk, args=(opening,), name="agentdesk-open", daemon=True
            ).start()
        return self._opening

    def _open_desk(self, opening: concurrent.futures.Future) -> None:
        try:
            store = self._store = self._store or open_store(self.store_path)
            rules = IngestRules(
                reopen_window=self.config.reopen_window_days * 86400,
                default_priority=self.config.default_priority,
                surveys=self.config.surveys,
            )
            routing = self._routing()
            desk = Desk(
                store,
                rules=rules,
                routing=routing,
                calendar=self.config.business_hours,
                sla=self.config.sla,
            )
            opening.set_result((desk, (store.seq, store.tasks([Status.OPEN, Status.PENDING]))))
        except BaseException as exc:
            opening.set_exception(exc)

    def _routing(self) -> RoutingPass | None:
        """The desk's routing, its language models loaded here (off the event loop)."""
        config = self.config.routing
        if not config.enabled:
            return None
        detector = None
        if config.languages:
            try:
                detector = LanguageDetector(config.languages)
            except LanguageUnavailable as exc:
                self.warnings.append(str(exc))
                log.warning("%s; routing goes on without languages", exc)
        return RoutingPass(config, detector)

    async def _start_channels(self) -> None:
        try:
            assert self.channels is not None
            await self.channels.start()
        except Exception:
            log.exception("starting the channels failed")

    async def _tick(self) -> None:
        forgotten_at = time.monotonic()
        while True:
            await asyncio.sleep(SNOOZE_CHECK_SECONDS)
            if self.desk is None:
                continue
            try:
                await self.desk.wake_snoozed()
            except Exception:
                log.exception("waking snoozed tasks failed")
            try:
                await self.desk.send_due_surveys()
            except Exception:
                log.exception("sending due surveys failed")
            if time.monotonic() - forgotten_at >= FORGET_COMMANDS_SECONDS:
                forgotten_at = time.monotonic()
                try:
                    await self.desk.forget_old_commands()
                except Exception:
                    log.exception("dropping old command ids failed")

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
            self._starting = None
        if self._metrics is not None:
            self._metrics.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._metrics
            self._metrics = None
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
                # Whoever was here leaves now: their online time ends with the desk.
                self.desk.everyone_offline()
                await self.desk.activity.drain()
                # On the store's thread, after whatever it was still given.
                await self.desk.read(store.close)
            self.desk.close()
        elif store is not None:
            await asyncio.to_thread(store.close)
