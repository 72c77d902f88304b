"""The widget's files (``static/``), served as plain files with strict security headers."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from starlette.responses import Response

from .origins import OriginPolicy

_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
}
#: The files a browser may fetch, by route path.
ASSETS = {
    "/widget.js": "widget.js",
    "/survey.js": "survey.js",
    "/widget.css": "widget.css",
    "/embed.js": "embed.js",
}


def _read(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text("utf-8")


class WidgetPages:
    """Serves the widget page and its assets, read once from the package."""

    def __init__(self, policy: OriginPolicy, *, title: str, greeting: str) -> None:
        page = _read("widget.html")
        # The only values put into markup, escaped: the operator's own texts.
        page = page.replace("{{title}}", html.escape(title)).replace(
            "{{greeting}}", html.escape(greeting)
        )
        self._page = page.encode("utf-8")
        self._assets = {path: _read(name).encode("utf-8") for path, name in ASSETS.items()}
        self._policy = policy

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; "
                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                f"form-action 'none'; frame-ancestors {self._policy.frame_ancestors()}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

    async def page(self, request: Any) -> Response:
        """The widget page (``/channels/<name>/``)."""
        return Response(self._page, media_type=_TYPES["html"], headers=self._headers())

    async def asset(self, request: Any) -> Response:
        """``widget.js``, ``survey.js``, ``widget.css`` or ``embed.js``, by the request's path."""
        path = "/" + request.url.path.rsplit("/", 1)[-1]
        body = self._assets.get(path)
        if body is None:
            return Response("not found", status_code=404, media_type="text/plain")
        kind = path.rsplit(".", 1)[-1]
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        if path == "/embed.js":
            # Loaded by other sites' pages with a script tag.
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return Response(body, media_type=_TYPES[kind], headers=headers)
