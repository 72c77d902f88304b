"""Twilio's answers turned into the plugin API's typed errors, with a sentence
the agent reads on the failed reply.

Twilio answers a refused request with an HTTP status and a JSON body
``{"code": 21211, "message": "...", "more_info": "...", "status": 400}``;
the code says what went wrong (https://www.twilio.com/docs/api/errors).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

OPTED_OUT = "the customer has opted out (STOP)"
#: Twilio's code for a send to a number that texted STOP to the sender.
CODE_OPTED_OUT = 21610
CODE_TOO_MANY_REQUESTS = 20429
CODE_AUTHENTICATE = 20003

# Codes for which retrying cannot help, and what the agent is told.
_PERMANENT = {
    21211: "{to} is not a valid phone number",
    21214: "{to} cannot be reached by text message",
    21408: "the Twilio account may not text this country (see Geo Permissions in the console)",
    21606: "the channel's from_number cannot send SMS (check the number in the Twilio console)",
    21612: "Twilio cannot carry a message from our number to {to}",
    21614: "{to} is not a mobile number and cannot receive text messages",
    21617: "the text is longer than Twilio's 1,600 characters",
    21659: "the channel's from_number is not a number of this Twilio account",
    21660: "the channel's from_number is not a number of this Twilio account",
}

# The same for a call the channel asks Twilio to place (the voice channel's call back).
_PERMANENT_CALL = {
    21210: "the channel's number is not one of this Twilio account's (so not a caller id)",
    21211: "{to} is not a valid phone number",
    21212: "the channel's number is not a valid caller id",
    21214: "{to} cannot be reached by phone",
    21215: "the Twilio account may not call this country (see Geo Permissions in the console)",
    21216: "the Twilio account may not call {to} (a blocked or premium number)",
    21217: "{to} is not a valid phone number",
    21219: "{to} is not a verified number (a trial account calls verified numbers only)",
}

# What a failed or undelivered status callback's ErrorCode means, for the log.
STATUS_ERRORS = {
    30001: "Twilio's queue overflowed",
    30002: "the Twilio account is suspended",
    30003: "the phone is off or out of coverage",
    30004: "the message was blocked (the number blocks texts from us)",
    30005: "the number is unknown or no longer in service",
    30006: "the number is a landline or its carrier cannot take texts",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier reported an unknown error",
    21610: OPTED_OUT,
}


class TwilioBusy(TemporaryDeliveryError):
    """Twilio asked us to slow down or failed on its side; ``retry_after`` says
    how many seconds it asked us to wait (None when it did not say)."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, maybe_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: A server error may come after the message was made (a 429 never does).
        self.maybe_sent = maybe_sent


class BadCredentials(TemporaryDeliveryError):
    """Twilio refused the login. Retrying helps once the operator fixes the
    options, so the reply waits in the outbox rather than failing."""


class OptedOut(PermanentDeliveryError):
    """The number texted STOP: nothing may be sent to it until it texts START."""

    def __init__(self) -> None:
        super().__init__(OPTED_OUT)


@dataclass(frozen=True, slots=True)
class ApiError:
    """A refusal as Twilio words it."""

    status: int
    code: int | None
    message: str


def read_error(status: int, body: Any) -> ApiError:
    """The error of a non-2xx answer, from its JSON body when it has one."""
    code: int | None = None
    message = ""
    if isinstance(body, dict):
        raw = body.get("code")
        if isinstance(raw, int) and not isinstance(raw, bool):
            code = raw
        elif isinstance(raw, str) and raw.isdigit():
            code = int(raw)
        message = str(body.get("message") or "")[:300]
    return ApiError(status, code, message)


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date); None without one."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def delivery_error(
    error: ApiError, to: str, retry_after: float | None, *, what: str = "message"
) -> TemporaryDeliveryError | PermanentDeliveryError:
    """The typed error for Twilio's refusal of a message (or, with ``what="call"``,
    of a call) to ``to``."""
    code, status = error.code, error.status
    tag = f" (Twilio {code})" if code is not None else f" (HTTP {status})"
    if code == CODE_OPTED_OUT and what == "message":
        return OptedOut()
    # A reply waits in the outbox and is retried; a call is never retried for
    # the agent (a call placed late is worse than none): they try again.
    again = "retrying" if what == "message" else "try again"
    if code == CODE_TOO_MANY_REQUESTS or status == 429:
        wait = f"; {again} in {retry_after:.0f} s" if retry_after else f"; {again} later"
        verb = "send" if what == "message" else "call"
        return TwilioBusy(f"Twilio is limiting how fast we {verb}{wait}{tag}", retry_after)
    if status >= 500:
        return TwilioBusy(
            f"Twilio failed on its side{tag}; {again} later", retry_after, maybe_sent=True
        )
    if code == CODE_AUTHENTICATE or status == 401:
        return BadCredentials(
            "Twilio refused the channel's credentials: check account_sid and "
            f"auth_token (or api_key_sid and api_key_secret){tag}"
        )
    sentence = (_PERMANENT if what == "message" else _PERMANENT_CALL).get(code or 0)
    if sentence is not None:
        return PermanentDeliveryError(sentence.format(to=to) + tag)
    detail = f": {error.message}" if error.message else ""
    return PermanentDeliveryError(f"Twilio refused the {what}{detail}{tag}")


def status_problem(error_code: str | None) -> str:
    """A sentence for a failed delivery's ErrorCode."""
    if not error_code:
        return "no reason given"
    code = int(error_code) if error_code.isdigit() else None
    known = STATUS_ERRORS.get(code or 0)
    return f"{known} (Twilio {error_code})" if known else f"Twilio error {error_code[:12]}"
