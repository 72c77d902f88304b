"""The desk's ``PluginContext``: what one channel instance gets from the desk.

Inbound items go through an ``InboundPump``: a bounded queue per channel
(``emit`` waits when it is full, so a flooding channel slows down instead of
growing memory) drained by one task that hands each item to ``desk.ingest``.
A malformed item is refused by the desk, logged and counted; the pump keeps
going. The pump outlives restarts of its channel, so nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentdesk.plugin import (
    ChannelConnectionError,
    Health,
    HttpEndpoint,
    Inbound,
    PluginState,
    WebSocketEndpoint,
)
from agentdesk.plugin.http_defaults import make_http_client
from agentdesk.plugin.types import INBOUND_TYPES

from .http_server import DeskHttpServer

if TYPE_CHECKING:
    import httpx

# Items handled before the pump lets other tasks run.
_DRAIN_BATCH = 64
# Items a channel may emit in a row before its emit yields to other tasks.
_YIELD_EVERY = 32


class IngestDesk(Protocol):
    """The part of the desk a plugin context uses. A desk may also offer
    ``async ingest_many(channel, items) -> list[result or exception]``, which
    stores several items with one commit; the pump then hands it batches."""

    async def ingest(self, channel: str, item: Any) -> Any: ...
    def state_get(self, namespace: str, key: str, default: Any = None) -> Any: ...
    async def state_set(self, namespace: str, key: str, value: Any) -> None: ...


class DeskState:
    """A channel's ``PluginState``: the desk's durable state under the channel's name.

    A change waits until the items the channel emitted before it are stored:
    a channel that saves its cursor after emitting never finds, after a
    crash, a cursor ahead of the messages it had received.
    """

    def __init__(self, desk: IngestDesk, namespace: str, pump: InboundPump) -> None:
        self._desk = desk
        self._namespace = namespace
        self._pump = pump

    def get(self, key: str, default: Any = None) -> Any:
        return self._desk.state_get(self._namespace, key, default)

    async def set(self, key: str, value: Any) -> None:
        await self._pump.barrier()
        await self._desk.state_set(self._namespace, key, value)

    async def delete(self, key: str) -> None:
        await self.set(key, None)


@dataclass(slots=True)
class PumpCounters:
    ingested: int = 0
    rejected: int = 0
    failed: int = 0
    last_rejection: str | None = None


class InboundPump:
    """The bounded queue between one channel and ``desk.ingest``."""

    def __init__(
        self,
        desk: IngestDesk,
        channel: str,
        *,
        maxsize: int = 1000,
        logger: logging.Logger | None = None,
    ) -> None:
        self.desk = desk
        self.channel = channel
        self.queue: asyncio.Queue[Inbound] = asyncio.Queue(maxsize=maxsize)
        self.counters = PumpCounters()
        self.log = logger or logging.getLogger(f"agentdesk.channel.{channel}")
        #: Called after each item is handled (the benchmark measures latency with it).
        self.on_ingested: Callable[[Inbound], None] | None = None
        self._busy = False
        self._puts = 0

    async def put(self, item: Inbound) -> None:
        await self.queue.put(item)
        # Yield now and then even when the queue has room, so a channel
        # emitting in a tight loop cannot keep everyone else from running.
        self._puts += 1
        if self._puts % _YIELD_EVERY == 0:
            await asyncio.sleep(0)

    async def barrier(self) -> None:
        """Return once every item put before this call has been handled."""
        if self.queue.empty() and not self._busy:
            return
        reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.queue.put(reached)  # type: ignore[arg-type]
        await reached

    async def run(self) -> None:
        """Drain forever; cancel the task to stop (``flush`` first to finish the queue)."""
        many = getattr(self.desk, "ingest_many", None)
        while True:
            batch = [await self.queue.get()]
            while len(batch) < _DRAIN_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._busy = True
            try:
                await self._handle(batch, many)
            finally:
                self._busy = False
                for _ in batch:
                    self.queue.task_done()
            await asyncio.sleep(0)

    async def _handle(self, batch: list[Any], many: Any) -> None:
        run: list[Inbound] = []
        for entry in [*batch, None]:
            if isinstance(entry, asyncio.Future) or entry is None:
                # Everything before a barrier is handled before it is released.
                if run and many is not None:
                    await self._ingest_many(run, many)
                else:
                    for item in run:
                        await self._ingest(item)
                run = []
                if entry is not None and not entry.done():
                    entry.set_result(None)
            else:
                run.append(entry)

    async def _ingest_many(self, items: list[Inbound], many: Any) -> None:
        try:
            results = await many(self.channel, items)
        except Exception:
            self.log.exception("ingesting %d inbound items failed", len(items))
            self.counters.failed += len(items)
            return
        for item, result in zip(items, results, strict=True):
            self._count(item, result if isinstance(result, Exception) else None)

    async def _ingest(self, item: Inbound) -> None:
        try:
            await self.desk.ingest(self.channel, item)
        except Exception as exc:
            self._count(item, exc)
        else:
            self._count(item, None)

    def _count(self, item: Inbound, error: Exception | None) -> None:
        if error is None:
            self.counters.ingested += 1
        elif isinstance(error, ValueError):
            self.counters.rejected += 1
            self.counters.last_rejection = str(error)
            self.log.warning("inbound %s refused: %s", type(item).__name__, error)
        else:
            self.counters.failed += 1
            self.log.error("ingesting an inbound %s failed", type(item).__name__, exc_info=error)
        if self.on_ingested is not None:
            self.on_ingested(item)

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued is handled; False if ``timeout`` ran out."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            return False
        return True


class DeskPluginContext:
    """The ``PluginContext`` of one channel instance (a new one for each restart)."""

    def __init__(
        self,
        *,
        name: str,
        options: dict[str, Any],
        desk: IngestDesk,
        pump: InboundPump,
        data_dir: Path,
        http: DeskHttpServer | None,
        on_report: Callable[[Health], None] = lambda health: None,
        on_crash: Callable[[BaseException], None] = lambda exc: None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.channel_name = name
        self.options = options
        self.logger = logger or logging.getLogger(f"agentdesk.channel.{name}")
        self.state: PluginState = DeskState(desk, name, pump)
        self.data_dir = data_dir
        self._pump = pump
        self._http = http
        self._on_report = on_report
        self._on_crash = on_crash
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    async def emit(self, item: Inbound) -> None:
        if not isinstance(item, INBOUND_TYPES):
            raise TypeError(f"emit() takes an Inbound item, got {type(item).__name__}")
        if self._closed:
            raise ChannelConnectionError(f"channel {self.channel_name} was stopped")
        await self._pump.put(item)

    def report(self, health: Health) -> None:
        if not isinstance(health, Health):
            raise TypeError(f"report() takes a Health, got {type(health).__name__}")
        if not self._closed:
            self._on_report(health)

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        if self._closed:
            coro.close()
            raise ChannelConnectionError(f"channel {self.channel_name} was stopped")
        task = asyncio.create_task(coro, name=name or f"channel-{self.channel_name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or self._closed:
            return
        error = task.exception()
        if error is not None:
            self._on_crash(error)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return make_http_client(**kwargs)

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: tuple[str, ...] = ("GET",)
    ) -> str:
        return self._require_http().add_channel_route(self.channel_name, path, endpoint, methods)

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> str:
        return self._require_http().add_channel_websocket_route(self.channel_name, path, endpoint)

    def _require_http(self) -> DeskHttpServer:
        if self._http is None:
            raise RuntimeError("this desk runs without an HTTP server")
        return self._http

    @property
    def base_url(self) -> str | None:
        return self._http.base_url if self._http is not None else None

    async def close(self) -> None:
        """Stop accepting emits and cancel whatever background tasks are left."""
        self._closed = True
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
