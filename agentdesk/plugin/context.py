"""What the desk gives a channel: ``PluginContext``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .types import Health, Inbound

if TYPE_CHECKING:
    import httpx

#: An HTTP endpoint: a Starlette-style ``async def endpoint(request) -> response``.
HttpEndpoint = Callable[[Any], Awaitable[Any]]
#: A websocket endpoint: ``async def endpoint(websocket) -> None``.
WebSocketEndpoint = Callable[[Any], Awaitable[None]]


@runtime_checkable
class PluginState(Protocol):
    """A small persistent key-value store for one channel instance (cursors, tokens).

    Values are JSON-compatible. ``set`` returns once the value is durable.
    """

    def get(self, key: str, default: Any = None) -> Any: ...
    async def set(self, key: str, value: Any) -> None: ...
    async def delete(self, key: str) -> None: ...


@runtime_checkable
class PluginContext(Protocol):
    """The channel's handle on the desk. One context per channel instance."""

    #: The instance name from config (``name = "support-fr"``).
    channel_name: str
    #: Typed option values, validated against the channel's declaration.
    options: dict[str, Any]
    logger: logging.Logger
    #: A directory this instance may write to (attachments, caches).
    data_dir: Path

    @property
    def state(self) -> PluginState:
        """Values kept across restarts (``get``/``set``; see ``PluginState``)."""
        ...

    async def emit(self, item: Inbound) -> None:
        """Hand an inbound item to the desk. Waits when the desk's queue is full
        (backpressure): a fast channel slows down instead of flooding the desk."""

    def report(self, health: Health) -> None:
        """Tell the desk (and the console's status bar) how the channel is doing."""

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        """Run a background coroutine (a poll loop, a connection) that the desk watches.

        If it raises, the channel is marked degraded, stopped and restarted with
        backoff. The channel still cancels its tasks in ``stop``; whatever it
        leaves running is cancelled after ``stop`` returns.
        """

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` with sane timeouts; the caller closes it."""

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: tuple[str, ...] = ("GET",)
    ) -> str:
        """Serve ``endpoint`` on the desk's HTTP server under this channel's prefix.
        Returns the full path (``/channels/<name><path>``). Call it before or in ``start``."""

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> str:
        """Like ``add_route`` for a websocket endpoint."""

    @property
    def base_url(self) -> str | None:
        """The desk HTTP server's public base URL, or None when it is not running."""
