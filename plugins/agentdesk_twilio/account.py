"""The options every Twilio channel takes (the account, its login, the API) and
the checked account settings built from them.

Both channels (``twilio-sms`` and ``twilio-voice``) declare these same
options, so one Twilio account is configured the same way for each, and a
wrong value gets the same message naming its key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentdesk.plugin import Option, PluginConfigError, is_loopback

DEFAULT_API = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def sid_validator(
    pattern: re.Pattern[str], what: str, example: str, *, optional: bool = False
) -> Callable[[Any], str | None]:
    """An option validator for a Twilio SID (two letters and 32 hex digits)."""

    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        if pattern.fullmatch(value.strip()) is None:
            return f"expected {what} ({example} followed by 32 hex digits), got {value!r}"
        return None

    return check


def e164(value: str) -> str | None:
    """The number as Twilio wants it (``+`` and digits), or None when it is not one.

    Spaces, dots, dashes and brackets are dropped, as the desk compares
    phone numbers on their digits; a number without its country code is refused.
    """
    compact = re.sub(r"[\s().-]", "", value)
    return compact if E164.fullmatch(compact) else None


def number_validator(*, optional: bool) -> Callable[[Any], str | None]:
    """An option validator for a phone number in international form."""

    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        if e164(value) is None:
            return f"expected a phone number in international form (+15017122661), got {value!r}"
        return None

    return check


def _check_api_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"expected an http(s) URL like {DEFAULT_API}, got {value!r}"
    if parts.query or parts.fragment:
        return f"expected a URL without query or fragment, got {value!r}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "plain http is only allowed to a loopback test server; use https"
    return None


#: The account and its login: the first options of every Twilio channel.
CREDENTIAL_OPTIONS: tuple[Option, ...] = (
    Option.text(
        "account_sid",
        help="the Account SID from the Twilio console (AC...)",
        validator=sid_validator(_ACCOUNT_SID, "an Account SID", "AC"),
    ),
    Option.secret(
        "auth_token",
        help="the account's Auth Token: checks Twilio's webhook signatures, and logs in "
        "to the API unless api_key_sid is set; write ${TWILIO_AUTH_TOKEN}",
        validator=lambda value: None if value.strip() else "the Auth Token is empty",
    ),
    Option.text(
        "api_key_sid",
        default="",
        help="an API key (SK...) to log in to the API with instead of the Auth Token",
        validator=sid_validator(_API_KEY_SID, "an API key SID", "SK", optional=True),
    ),
    Option.secret(
        "api_key_secret", default="", help="the API key's secret; write ${TWILIO_API_SECRET}"
    ),
)

#: How the API is reached: the last options of every Twilio channel.
CONNECTION_OPTIONS: tuple[Option, ...] = (
    Option.number(
        "timeout",
        default=10,
        minimum=0.1,
        maximum=25,
        help="seconds to wait for Twilio's API (under the desk's 30 s send timeout)",
    ),
    Option.text(
        "api_base_url",
        default=DEFAULT_API,
        help="Twilio's REST API; change it only to point at a test server",
        validator=_check_api_url,
    ),
)


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """Who the channel is at Twilio, and how it reaches the API."""

    account_sid: str
    #: Checks webhook signatures (and logs in when no API key is set).
    auth_token: str
    #: Who logs in to the REST API: (username, password).
    api_login: tuple[str, str]
    timeout: float
    api_base_url: str


def build_account(options: dict[str, Any]) -> TwilioAccount:
    """The account settings; an API key without its secret (or the reverse) is refused."""
    key_sid = str(options["api_key_sid"]).strip()
    key_secret = str(options["api_key_secret"])
    if key_sid and not key_secret.strip():
        raise PluginConfigError("api_key_secret: required when api_key_sid is set")
    if key_secret.strip() and not key_sid:
        raise PluginConfigError("api_key_sid: required when api_key_secret is set")
    account_sid = str(options["account_sid"]).strip()
    auth_token = str(options["auth_token"]).strip()
    return TwilioAccount(
        account_sid=account_sid,
        auth_token=auth_token,
        api_login=(key_sid, key_secret) if key_sid else (account_sid, auth_token),
        timeout=float(options["timeout"]),
        api_base_url=str(options["api_base_url"]).rstrip("/"),
    )
