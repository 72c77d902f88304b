"""Meta's webhook signature (``X-Hub-Signature-256``).

Meta signs the raw body of every webhook POST with the app's App secret:
``sha256=`` followed by the hex HMAC-SHA256 of the bytes as sent. The check
runs on those bytes before anything parses them.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends with ``body``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is Meta's signature of ``body``, compared in constant time."""
    if not header:
        return False
    given = header.strip()
    if given[: len(_PREFIX)].lower() != _PREFIX:
        return False
    expected = sign(app_secret, body)[len(_PREFIX) :].encode("ascii")
    return hmac.compare_digest(expected, given[len(_PREFIX) :].lower().encode("ascii", "replace"))
