"""The desk's HTTP server: channel webhooks, web pages and websockets.

One Starlette app served by uvicorn as a task of the desk's own event loop
(see ``agentdesk.plugin.serving``). Each channel's routes live under
``/channels/<name>/``; the server listens on loopback unless the config says
otherwise, and runs only when some channel needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentdesk.core.config import HttpConfig
from agentdesk.plugin import HttpEndpoint, WebSocketEndpoint
from agentdesk.plugin.serving import EmbeddedServer

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse


#: Seconds a provider is asked to wait before posting again to a channel
#: that is not running.
RETRY_AFTER = 5


def channel_prefix(channel: str) -> str:
    return f"/channels/{channel}"


class DeskHttpServer:
    """Routes can be added before or after ``start``; ``start`` and ``stop`` are idempotent."""

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        ssl: tuple[str, str] | None = None,
        ws_max_size: int = 16 * 1024 * 1024,
        ws_compression: bool = True,
        health: HttpEndpoint | None = None,
    ) -> None:
        config = config or HttpConfig()
        self.config = config
        self._server = EmbeddedServer(
            config.host,
            config.port,
            public_url=config.public_url,
            ssl=ssl,
            ws_max_size=ws_max_size,
            ws_compression=ws_compression,
        )
        self._health = health or _healthz
        self._health_route = False
        # Configured channels: a webhook for one that is not running (starting,
        # restarting, down, its plugin broken) is told to come back, not 404.
        self._expected: frozenset[str] = frozenset()

    @property
    def running(self) -> bool:
        return self._server.running

    @property
    def base_url(self) -> str | None:
        """The public URL when configured, else the address listened on; None when stopped."""
        return self._server.base_url

    @property
    def port(self) -> int | None:
        return self._server.bound_port

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: Sequence[str] = ("GET",)
    ) -> None:
        """A route outside the channels' space (the hub's endpoints)."""
        self._server.add_route(path, endpoint, methods)

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> None:
        self._server.add_websocket_route(path, endpoint)

    def set_health(self, endpoint: HttpEndpoint) -> None:
        """What ``/healthz`` answers (before ``start``)."""
        self._health = endpoint

    def add_channel_route(
        self, channel: str, path: str, endpoint: HttpEndpoint, methods: Sequence[str] = ("GET",)
    ) -> str:
        full = channel_prefix(channel) + _checked(path)
        self._server.add_route(full, endpoint, methods)
        return full

    def add_channel_websocket_route(
        self, channel: str, path: str, endpoint: WebSocketEndpoint
    ) -> str:
        full = channel_prefix(channel) + _checked(path)
        self._server.add_websocket_route(full, endpoint)
        return full

    def remove_channel_routes(self, channel: str) -> None:
        """Forget a channel's routes (before a restarted instance adds them again)."""
        self._server.remove_routes(channel_prefix(channel) + "/")

    def channel_routes(self, channel: str) -> list[str]:
        prefix = channel_prefix(channel) + "/"
        return [
            path
            for path in (getattr(route, "path", "") for route in self._server.routes)
            if path.startswith(prefix)
        ]

    def expect_channels(self, names: Sequence[str]) -> None:
        """The channels configured here: while one has no routes, a request
        under its ``/channels/<name>/`` is answered 503 with ``Retry-After``."""
        self._expected = frozenset(names)

    async def _unrouted(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.responses import PlainTextResponse
        from starlette.websockets import WebSocketClose

        parts = str(scope.get("path", "")).split("/")
        name = parts[2] if len(parts) > 2 and parts[1] == "channels" else None
        waiting = name in self._expected and not self.channel_routes(name or "")
        if scope["type"] == "websocket":
            await WebSocketClose(code=1013 if waiting else 1000)(scope, receive, send)
            return
        if waiting:
            response = PlainTextResponse(
                f"channel {name} is not running yet; retry later",
                503,
                headers={"Retry-After": str(RETRY_AFTER)},
            )
        else:
            response = PlainTextResponse("Not Found", 404)
        await response(scope, receive, send)

    def has_channel_routes(self) -> bool:
        return any(
            getattr(route, "path", "").startswith("/channels/") for route in self._server.routes
        )

    async def start(self) -> str:
        """Listen and serve; returns the base URL. OSError when the port is taken."""
        if not self._health_route:  # added here: routes bring in the web framework
            self._server.add_route("/healthz", self._health)
            self._server.app.router.default = self._unrouted
            self._health_route = True
        return await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()


def _checked(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"route path must start with '/': {path!r}")
    return path


async def _healthz(request: Request) -> PlainTextResponse:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse("ok")
