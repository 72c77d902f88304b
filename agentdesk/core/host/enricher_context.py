"""The ``PluginContext`` an enricher instance gets: options, a logger, HTTP.

An enricher only answers look-ups: it has no inbound items to emit and no
routes to serve, so those refuse; its state lives under its own namespace
of the desk's durable state, as a channel's does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk.plugin import Health, HttpEndpoint, Inbound, PluginConfigError, WebSocketEndpoint
from agentdesk.plugin.http_defaults import make_http_client

if TYPE_CHECKING:
    import httpx


class EnricherState:
    """An enricher's ``PluginState``: the desk's durable state under its namespace."""

    def __init__(self, desk: Any, namespace: str) -> None:
        self._desk = desk
        self._namespace = namespace

    def get(self, key: str, default: Any = None) -> Any:
        return self._desk.state_get(self._namespace, key, default)

    async def set(self, key: str, value: Any) -> None:
        await self._desk.state_set(self._namespace, key, value)

    async def delete(self, key: str) -> None:
        await self.set(key, None)


class EnricherContext:
    """The context of one ``[[enrichers]]`` instance."""

    def __init__(self, *, name: str, options: dict[str, Any], desk: Any, data_dir: Path) -> None:
        self.channel_name = name
        self.options = options
        self.logger = logging.getLogger(f"agentdesk.enricher.{name}")
        self.state = EnricherState(desk, f"enricher.{name}")
        self.data_dir = data_dir
        self._tasks: set[asyncio.Task[Any]] = set()

    async def emit(self, item: Inbound) -> None:
        raise PluginConfigError("an enricher looks customers up; it cannot emit inbound items")

    def report(self, health: Health) -> None:
        self.logger.info("%s: %s", health.state, health.detail)

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name or f"enricher-{self.channel_name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return make_http_client(**kwargs)

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: tuple[str, ...] = ("GET",)
    ) -> str:
        raise RuntimeError("an enricher serves no HTTP routes")

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> str:
        raise RuntimeError("an enricher serves no HTTP routes")

    @property
    def base_url(self) -> str | None:
        return None

    async def close(self) -> None:
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
