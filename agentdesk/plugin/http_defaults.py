"""The HTTP client a channel gets from ``context.http_client``.

Building an ``httpx.AsyncClient`` loads the system's certificate store, which
blocks the event loop for tens of milliseconds. Channels share one TLS
context instead: the desk builds it once, in a thread, before channels start.
"""

from __future__ import annotations

import functools
import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# httpx is imported when a client is first made: the commands and the console
# that need none start that much sooner.


def default_http_timeout() -> httpx.Timeout:
    """Connect within 5 s, and wait at most 30 s for each read."""
    import httpx

    return httpx.Timeout(30.0, connect=5.0)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every channel's client verifies servers with (built once)."""
    import httpx

    return httpx.create_ssl_context()


def make_http_client(**kwargs: Any) -> httpx.AsyncClient:
    """An ``AsyncClient`` with the default timeouts and the shared TLS context;
    keyword arguments override either."""
    kwargs.setdefault("timeout", default_http_timeout())
    kwargs.setdefault("verify", shared_ssl_context())
    import httpx

    return httpx.AsyncClient(**kwargs)
