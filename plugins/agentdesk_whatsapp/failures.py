"""Meta's refusals turned into the plugin API's typed errors, with a sentence
the agent reads on the failed reply.

The Graph API answers a refused request with an HTTP status and
``{"error": {"message", "type", "code", "error_data": {"details"},
"fbtrace_id"}}``; the ``code`` says what went wrong. A message Meta took but
could not deliver comes back later as a ``failed`` status with the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

WINDOW_CLOSED = "the 24-hour window is closed: send a template"
TOKEN_REFUSED = "the access token was refused"

#: Codes of a refused login: the token expired, was revoked or lacks a permission.
_LOGIN = {0, 190, 102, 463, 467}
_PERMISSION = {10, *range(200, 300)}
#: Codes that mean "slow down": retrying later helps, and nothing was sent.
_RATE = {4, 80007, 130429, 131048, 131056}
#: Codes of a failure on Meta's side: retrying later may help.
_SERVER = {1, 2, 131000, 131016}

# Codes for which retrying cannot help, and what the agent is told.
_PERMANENT = {
    131047: WINDOW_CLOSED,
    131026: "WhatsApp could not deliver to {to}: the number may not use WhatsApp, or the "
    "customer must update the app or accept its terms",
    131030: "{to} is not in the test number's list of allowed recipients (add it in the app's "
    "WhatsApp > API Setup, or use a real business number)",
    131031: "the WhatsApp Business account is locked or restricted (see WhatsApp Manager)",
    368: "the WhatsApp Business account is blocked for a policy violation (see WhatsApp Manager)",
    131042: "the business account has a payment problem (see WhatsApp Manager > Payment)",
    131045: "the business number is not registered or its display name is not approved",
    133010: "the business number is not registered with the Cloud API",
    131051: "WhatsApp does not take this kind of message",
    131052: "the customer's media could not be downloaded",
    131053: "the media could not be uploaded to WhatsApp",
    132000: "the template's parameters do not match the approved template",
    132001: "the template does not exist at Meta in that language (or is not approved yet)",
    132005: "the template is too long once its parameters are filled in",
    132007: "the template's text breaks WhatsApp's formatting rules",
    132012: "a template parameter is not in the form the approved template expects",
    132015: "the template is paused (its quality is low): pick another one",
    132016: "the template is disabled: pick another one",
}


@dataclass(frozen=True, slots=True)
class GraphError:
    """A refusal as Meta words it."""

    status: int
    code: int | None
    message: str = ""
    details: str = ""

    @property
    def tag(self) -> str:
        return f"(Meta {self.code})" if self.code is not None else f"(HTTP {self.status})"


def read_error(status: int, body: Any) -> GraphError:
    """The error of a non-2xx answer, from its JSON body when it has one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(status, None)
    code = error.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return GraphError(
        status,
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(error.get("message") or "")[:300],
        str(details or "")[:300],
    )


class TokenRefused(PermanentDeliveryError):
    """Meta refused the access token: the channel shows degraded until a call works."""


class MetaBusy(TemporaryDeliveryError):
    """Meta asked us to slow down or failed on its side. ``maybe_sent``: a server
    error may come after the message was made (a rate limit never does)."""

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


def is_login_error(error: GraphError) -> bool:
    return error.status == 401 or error.code in _LOGIN or error.code in _PERMISSION


def login_problem(error: GraphError) -> str:
    """The sentence for a refused login or a missing permission."""
    if error.code in _PERMISSION:
        return (
            "the access token may not send for this number: give its system user the "
            f"whatsapp_business_messaging permission and this WhatsApp account {error.tag}"
        )
    return (
        f"{TOKEN_REFUSED}: it expired or was revoked; make a system user's token in "
        f"Business settings and set access_token {error.tag}"
    )


def delivery_error(error: GraphError, to: str) -> TemporaryDeliveryError | PermanentDeliveryError:
    """The typed error for Meta's refusal of a message to ``to``."""
    code, status = error.code, error.status
    if is_login_error(error):
        return TokenRefused(login_problem(error))
    if code in _RATE or (code is None and status == 429):
        return MetaBusy(f"WhatsApp is limiting how fast we send; retrying later {error.tag}")
    if code in _SERVER or status >= 500:
        return MetaBusy(f"WhatsApp failed on its side; retrying later {error.tag}", maybe_sent=True)
    sentence = _PERMANENT.get(code or 0)
    if sentence is not None:
        return PermanentDeliveryError(f"{sentence.format(to=to)} {error.tag}")
    said = error.details or error.message
    detail = f": {said}" if said else ""
    return PermanentDeliveryError(f"WhatsApp refused the message{detail} {error.tag}")


def status_problem(code: int | None, title: str, details: str, to: str) -> str:
    """A sentence for a ``failed`` status's first error, for the log."""
    if code is None:
        return title or "no reason given"
    sentence = _PERMANENT.get(code)
    if sentence is not None:
        return f"{sentence.format(to=to or 'the customer')} (Meta {code})"
    said = details or title
    return f"{said} (Meta {code})" if said else f"Meta error {code}"
