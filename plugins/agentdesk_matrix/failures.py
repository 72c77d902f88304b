"""The homeserver's refusals, and the plugin API's typed errors they become.

The client-server API answers a refused request with an HTTP status and a
JSON body ``{"errcode": "M_FORBIDDEN", "error": "..."}``; a rate limit adds
``retry_after_ms`` (and, on newer servers, a ``Retry-After`` header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

# Codes whose sentence is the same wherever they come from.
_BAD_TOKEN = ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN")


@dataclass(eq=False)
class MatrixError(Exception):
    """A request the homeserver refused, or could not be asked."""

    status: int  # 0: the homeserver could not be reached
    errcode: str
    message: str
    #: Seconds the homeserver asked us to wait (rate limits), None when it did not say.
    retry_after: float | None = None

    def __str__(self) -> str:
        if self.status == 0:
            return f"the homeserver cannot be reached: {self.message}"
        code = self.errcode or f"HTTP {self.status}"
        return f"{code}: {self.message}" if self.message else code

    @property
    def bad_token(self) -> bool:
        return self.errcode in _BAD_TOKEN or (self.status == 401 and not self.errcode)

    @property
    def temporary(self) -> bool:
        """Whether the same request may work later without anyone changing anything."""
        return self.status == 0 or self.status == 429 or self.status >= 500

    @classmethod
    def unreachable(cls, exc: Exception) -> MatrixError:
        return cls(0, "", str(exc) or type(exc).__name__)

    @classmethod
    def of(cls, response: httpx.Response) -> MatrixError:
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        errcode = message = ""
        retry: float | None = None
        if isinstance(body, dict):
            errcode = str(body.get("errcode") or "")[:60]
            message = str(body.get("error") or "")[:300]
            wait = body.get("retry_after_ms")
            if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait >= 0:
                retry = wait / 1000
        header = response.headers.get("retry-after", "").strip()
        if retry is None and header.isdigit():
            retry = float(header)
        return cls(response.status_code, errcode, message, retry)


class LoginProblem(Exception):
    """The homeserver will not let the bot in as configured: a sentence for the
    operator (health line, failed replies). Retrying helps only once they fix it."""


def token_refused(error: MatrixError) -> LoginProblem:
    return LoginProblem(
        f"the homeserver refused the bot's access token ({error}): "
        "make a new token for the bot and set access_token"
    )


def password_refused(error: MatrixError) -> LoginProblem:
    return LoginProblem(
        f"the homeserver refused the bot's login ({error}): check user_id and password"
    )


def delivery_error(
    error: MatrixError, what: str
) -> TemporaryDeliveryError | PermanentDeliveryError:
    """The typed error for a failed ``what`` ("the reply to @ana:example.org")."""
    if error.status == 0:
        return TemporaryDeliveryError(f"{what} waits: {error}")
    if error.status == 429 or error.errcode == "M_LIMIT_EXCEEDED":
        later = f"in {error.retry_after:.0f} s" if error.retry_after is not None else "later"
        return TemporaryDeliveryError(
            f"the homeserver is limiting how fast the bot sends; {what} is retried {later}"
        )
    if error.status >= 500:
        return TemporaryDeliveryError(f"the homeserver failed ({error}); {what} is retried")
    if error.bad_token:
        # The operator fixes the token, then the reply goes: it waits in the outbox.
        return TemporaryDeliveryError(f"{what} waits: {token_refused(error)}")
    if error.errcode == "M_TOO_LARGE":
        return PermanentDeliveryError(f"{what} is too large for one Matrix event")
    if error.errcode == "M_FORBIDDEN":
        return PermanentDeliveryError(
            f"the homeserver refused {what} ({error}): the bot is no longer in the customer's "
            "room; the next reply opens a new direct room"
        )
    return PermanentDeliveryError(f"the homeserver refused {what} ({error})")
