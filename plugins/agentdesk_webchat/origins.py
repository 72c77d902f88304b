"""Which web sites may talk to the chat: the websocket origin check and frame-ancestors.

By default only the desk's own origin may: the widget page served by the
desk, shown directly or in an iframe on the desk's own site. ``allowed_origins``
adds sites (``https://www.example.com``) that may embed the widget in an
iframe or open the chat websocket from their own pages; ``*`` allows any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def check_origins(values: Sequence[str]) -> str | None:
    """The option validator: an error sentence, or None when every entry is an origin."""
    for value in values:
        if value != "*" and not _ORIGIN.match(value.rstrip("/")):
            return (
                f"{value!r} is not an origin; write scheme and host only, "
                "like https://www.example.com (or * for any site)"
            )
    return None


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return ""
    return host if port in (None, default) else f"{host}:{port}"


class OriginPolicy:
    """Decides whether a browser page at some origin may open the chat."""

    def __init__(self, allowed: Sequence[str]) -> None:
        self.any = "*" in allowed
        self.allowed = tuple(o.rstrip("/").lower() for o in allowed if o != "*")

    def allows(self, origin: str | None, host: str | None, public_url: str | None = None) -> bool:
        """True for an allowed origin, or the desk's own (the ``Host`` it was reached by,
        or its public URL behind a reverse proxy). A request without ``Origin``
        is refused: browsers always send one, so it is not a visitor's page."""
        if not origin or origin == "null":
            return False
        if self.any:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        own = _netloc(origin)
        if not own:
            return False
        if host and own == _netloc("http://" + host.lower()):
            return True
        return bool(public_url) and own == _netloc(public_url or "")

    def frame_ancestors(self) -> str:
        """The ``Content-Security-Policy`` frame-ancestors value for the widget page."""
        if self.any:
            return "*"
        return " ".join(("'self'", *self.allowed))
