"""An HTTP server that runs inside the caller's event loop.

The desk serves channel webhooks and web pages from the loop the console
runs in, and the testing kit serves a channel's routes the same way, so both
use this one small wrapper around ``uvicorn.Server``:

- it binds the socket itself, so a busy port is an ``OSError`` (uvicorn would
  call ``sys.exit``) and port 0 gives a free ephemeral port;
- it leaves signal handling alone (uvicorn would take SIGINT and SIGTERM);
- it leaves logging configuration alone (uvicorn would replace it);
- routes may be added before or after the server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .context import HttpEndpoint, WebSocketEndpoint

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

# Starlette and uvicorn are imported when the first route is added: a desk
# whose channels serve nothing over HTTP starts without them.


@functools.cache
def _quiet_server_class() -> type:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that does not install signal handlers."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


class EmbeddedServer:
    """A Starlette app served by uvicorn as a task of the running loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        public_url: str | None = None,
        max_body_size: int | None = 16 * 1024 * 1024,
        ws_max_size: int = 16 * 1024 * 1024,
        ws_compression: bool = True,
        ssl: tuple[str, str] | None = None,
        routes: Sequence[BaseRoute] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.public_url = public_url
        self.ws_max_size = ws_max_size
        #: permessage-deflate on websockets (a hub turns it off: see docs/decisions.md).
        self.ws_compression = ws_compression
        #: (certfile, keyfile) to serve https and wss.
        self.ssl = ssl
        self._app_options = {"routes": list(routes), "max_body_size": max_body_size}
        self._app: Starlette | None = None
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._bound_port: int | None = None

    @property
    def app(self) -> Starlette:
        """The Starlette app the routes belong to (made on first use)."""
        if self._app is None:
            from starlette.applications import Starlette

            self._app = Starlette(**self._app_options)  # type: ignore[arg-type]
        return self._app

    @property
    def routes(self) -> list[BaseRoute]:
        return self.app.router.routes

    def add_route(
        self, path: str, endpoint: HttpEndpoint, methods: Sequence[str] = ("GET",)
    ) -> None:
        """Serve an HTTP endpoint at ``path``; works while running too."""
        from starlette.routing import Route

        self._check_free(path)
        self.routes.append(Route(path, endpoint=endpoint, methods=list(methods)))

    def add_websocket_route(self, path: str, endpoint: WebSocketEndpoint) -> None:
        """Serve a websocket endpoint at ``path``; works while running too."""
        from starlette.routing import WebSocketRoute

        self._check_free(path, websocket=True)
        self.routes.append(WebSocketRoute(path, endpoint=endpoint))

    def remove_routes(self, prefix: str) -> None:
        """Drop every route whose path starts with ``prefix``."""
        self.app.router.routes[:] = [
            r for r in self.routes if not getattr(r, "path", "").startswith(prefix)
        ]

    def _check_free(self, path: str, *, websocket: bool = False) -> None:
        from starlette.routing import WebSocketRoute

        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        for route in self.routes:
            same_kind = isinstance(route, WebSocketRoute) == websocket
            if same_kind and getattr(route, "path", None) == path:
                raise ValueError(f"route {path!r} is already registered")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on (useful with port 0), or None when stopped."""
        return self._bound_port if self.running else None

    @property
    def base_url(self) -> str | None:
        """The URL a client reaches the server by, or None when it is not running."""
        if not self.running:
            return None
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://{host}:{self._bound_port}"

    async def start(self) -> str:
        """Bind, start serving, and return the base URL. Raises OSError if the port is taken."""
        if self.running:
            return self.base_url or ""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        sock.setblocking(False)
        self._bound_port = sock.getsockname()[1]
        import uvicorn

        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            ws_max_size=self.ws_max_size,
            ws_per_message_deflate=self.ws_compression,
            ssl_certfile=self.ssl[0] if self.ssl else None,
            ssl_keyfile=self.ssl[1] if self.ssl else None,
        )
        server = _quiet_server_class()(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="http-server")
        while not server.started:
            if self._task.done():
                # The task ended during start-up: surface its error.
                sock.close()
                await self._task
                raise OSError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.005)
        return self.base_url or ""

    async def stop(self) -> None:
        """Stop serving and wait for open connections to close. Idempotent."""
        task, server = self._task, self._server
        self._task = self._server = None
        if task is None or server is None:
            return
        server.should_exit = True
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        except Exception:  # the server failed while running; nothing left to stop
            pass
