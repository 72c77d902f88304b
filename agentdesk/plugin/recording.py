"""A ``PluginContext`` that records what a channel does, for tests.

``RecordingContext`` records emitted items, health reports, state, routes and
background tasks, so a test can drive a channel without a desk::

    ctx = RecordingContext.for_channel(MyChannel, {"token": "x"})
    channel = MyChannel(ctx)
    async with serve(ctx):          # only for channels that add HTTP routes
        await channel.start()
        item = await ctx.next_inbound(timeout=5)
        await channel.stop()

Import it from ``agentdesk.plugin.testing``, which also holds the pytest
fixture and the conformance kit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .channel import Channel
from .context import HttpEndpoint, WebSocketEndpoint
from .http_defaults import make_http_client
from .options import parse_options
from .serving import EmbeddedServer
from .types import INBOUND_TYPES, Health, Inbound


class MemoryState:
    """An in-memory ``PluginState``. Values are checked to be JSON-compatible,
    as the desk's durable state requires, and stored as copies."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(initial or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def set(self, key: str, value: Any) -> None:
        if value is None:
            self.values.pop(key, None)
            return
        try:
            self.values[key] = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"state value for {key!r} is not JSON-compatible: {exc}") from None

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)


@dataclass(frozen=True, slots=True)
class RecordedRoute:
    """A route a channel registered: the full path it is served on."""

    path: str
    endpoint: Any
    methods: tuple[str, ...] = ()
    websocket: bool = False


class RecordingContext:
    """A ``PluginContext`` that records everything a channel does.

    ``emitted`` lists every item in order; ``next_inbound`` awaits the next one.
    ``health`` lists every report. ``routes`` lists registered routes, which
    ``serve(ctx)`` puts on a real HTTP server.
    """

    def __init__(
        self,
        channel_name: str = "test",
        options: Mapping[str, Any] | None = None,
        *,
        data_dir: Path | None = None,
        state: MemoryState | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.channel_name = channel_name
        self.options: dict[str, Any] = dict(options or {})
        self.logger = logger or logging.getLogger(f"agentdesk.channel.{channel_name}")
        self.state = state if state is not None else MemoryState()
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix=f"agentdesk-{channel_name}-"))
            if data_dir is None
            else data_dir
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.emitted: list[Inbound] = []
        self.health: list[Health] = []
        self.routes: list[RecordedRoute] = []
        #: Background tasks started with ``spawn``, and the errors they ended with.
        self.tasks: list[asyncio.Task[Any]] = []
        self.crashes: list[BaseException] = []
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()
        self.server = EmbeddedServer("127.0.0.1", 0)

    @classmethod
    def for_channel(
        cls,
        channel_class: type[Channel],
        options: Mapping[str, Any] | None = None,
        *,
        channel_name: str = "test",
        **kwargs: Any,
    ) -> RecordingContext:
        """A context whose options are validated against ``channel_class.options``
        exactly as the desk does (defaults filled in, unknown names refused)."""
        parsed = parse_options(channel_class.options, dict(options or {}), where=channel_name)
        return cls(channel_name, parsed, **kwargs)

    # -- PluginContext ---------------------------------------------------

    async def emit(self, item: Inbound) -> None:
        if not isinstance(item, INBOUND_TYPES):
            raise TypeError(f"emit() takes an Inbound item, got {type(item).__name__}")
        self.emitted.append(item)
        self._queue.put_nowait(item)
        await asyncio.sleep(0)  # as the desk's emit does now and then

    def report(self, health: Health) -> None:
        if not isinstance(health, Health):
            raise TypeError(f"report() takes a Health, got {type(health).__name__}")
        self.health.append(health)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return make_http_client(**kwargs)

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: tuple[str, ...] = ("GET",)
    ) -> str:
        full = self._full_path(path)
        self.server.add_route(full, endpoint, methods)
        self.routes.append(RecordedRoute(full, endpoint, tuple(methods)))
        return full

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> str:
        full = self._full_path(path)
        self.server.add_websocket_route(full, endpoint)
        self.routes.append(RecordedRoute(full, endpoint, websocket=True))
        return full

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name or f"{self.channel_name}-task")
        self.tasks.append(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.crashes.append(task.exception())  # type: ignore[arg-type]

    @property
    def base_url(self) -> str | None:
        return self.server.base_url

    # -- for tests -------------------------------------------------------

    def _full_path(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        return f"/channels/{self.channel_name}{path}"

    async def next_inbound(self, timeout: float = 5.0) -> Inbound:
        """The next emitted item not yet taken; TimeoutError after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"channel {self.channel_name!r} emitted nothing within {timeout:g} s"
            ) from None

    def pending_inbound(self) -> int:
        """How many emitted items ``next_inbound`` has not returned yet."""
        return self._queue.qsize()

    @property
    def last_health(self) -> Health | None:
        return self.health[-1] if self.health else None

    def url(self, path: str) -> str:
        """The absolute URL of a route path (as returned by ``add_route``)."""
        if self.base_url is None:
            raise RuntimeError("the context is not being served: use `async with serve(ctx)`")
        return self.base_url + path

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        """Spawned tasks that have not finished."""
        return [task for task in self.tasks if not task.done()]

    def close(self) -> None:
        """Remove the temporary data directory if this context made it."""
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def serve(ctx: RecordingContext) -> AsyncIterator[str]:
    """Serve the context's routes on 127.0.0.1 (ephemeral port) inside the
    running loop; yields the base URL, which ``ctx.base_url`` also returns."""
    base_url = await ctx.server.start()
    try:
        yield base_url
    finally:
        await ctx.server.stop()
