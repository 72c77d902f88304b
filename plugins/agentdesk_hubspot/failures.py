"""HubSpot's refusals as the few words the agent reads after "CRM unavailable".

HubSpot answers an error with a status and a JSON body such as
``{"status": "error", "message": "...", "correlationId": "...", "category":
"INVALID_AUTHENTICATION"}``; a rate-limited request (429) also names the
limit it hit in ``policyName`` (``TEN_SECONDLY_ROLLING``, ``SECONDLY``,
``DAILY``). No message ever includes the token or the customer's address.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

from agentdesk.plugin import LookupUnavailable

TOKEN_REFUSED = "the token was refused"
TIMEOUT = "timeout"
UNREACHABLE = "HubSpot cannot be reached"
NOT_UNDERSTOOD = "HubSpot's answer was not understood"
DAILY_LIMIT = "HubSpot's daily API limit is used up"
#: When a 429 says nothing of when to come back: HubSpot's shortest window.
DEFAULT_RETRY_AFTER = 1.0


def rate_limited(wait: float) -> LookupUnavailable:
    return LookupUnavailable(f"rate limited, retry in {max(1, math.ceil(wait))} s")


def refusal(status: int) -> LookupUnavailable:
    """What to tell the agent about an answer that is neither a result nor a 429."""
    if status == 401:
        return LookupUnavailable(TOKEN_REFUSED)
    if status == 403:
        return LookupUnavailable("the token may not read contacts (see the private app's scopes)")
    return LookupUnavailable(f"HubSpot answered {status}")


def policy_name(body: Any) -> str:
    """The limit a 429 says was hit, upper case; empty when it does not say."""
    if isinstance(body, dict) and isinstance(body.get("policyName"), str):
        return body["policyName"].upper()
    return ""


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date); None without one."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None
