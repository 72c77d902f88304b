"""The channel's options, and the checked settings built from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentdesk.plugin import Option, PluginConfigError, is_loopback

DEFAULT_API = "https://api.twilio.com"
#: Twilio refuses a body longer than this (error 21617).
MAX_BODY = 1600

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
# An alphanumeric sender id: up to 11 letters, digits and spaces, one letter at least.
_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _sid(
    pattern: re.Pattern[str], what: str, example: str, *, optional: bool = False
) -> Callable[[Any], str | None]:
    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        if pattern.fullmatch(value.strip()) is None:
            return f"expected {what} ({example} followed by 32 hex digits), got {value!r}"
        return None

    return check


def _check_from(value: str) -> str | None:
    if value == "" or sender_kind(value) is not None:
        return None
    return (
        "expected a Twilio number in international form (+15017122661), "
        f"a short code or an alphanumeric sender id, got {value!r}"
    )


def _check_api_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"expected an http(s) URL like {DEFAULT_API}, got {value!r}"
    if parts.query or parts.fragment:
        return f"expected a URL without query or fragment, got {value!r}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "plain http is only allowed to a loopback test server; use https"
    return None


OPTIONS: tuple[Option, ...] = (
    Option.text(
        "account_sid",
        help="the Account SID from the Twilio console (AC...)",
        validator=_sid(_ACCOUNT_SID, "an Account SID", "AC"),
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
        validator=_sid(_API_KEY_SID, "an API key SID", "SK", optional=True),
    ),
    Option.secret(
        "api_key_secret", default="", help="the API key's secret; write ${TWILIO_API_SECRET}"
    ),
    Option.text(
        "from_number",
        default="",
        help="the number replies are sent from (+15017122661), a short code or a sender id",
        validator=_check_from,
    ),
    Option.text(
        "messaging_service_sid",
        default="",
        help="a Messaging Service (MG...) that picks the sending number, instead of from_number",
        validator=_sid(_SERVICE_SID, "a Messaging Service SID", "MG", optional=True),
    ),
    Option.flag(
        "status_callbacks",
        default=True,
        help="ask Twilio to report each reply's delivery to the channel's status route",
    ),
    Option.flag(
        "download_media",
        default=True,
        help="store MMS pictures and files in the channel's data folder (else keep the links)",
    ),
    Option.number(
        "max_media_mb",
        default=5,
        minimum=0,
        maximum=100,
        help="MMS files larger than this are listed by their link, not stored",
    ),
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
class TwilioSettings:
    account_sid: str
    auth_token: str
    #: Who logs in to the REST API: (username, password).
    api_login: tuple[str, str]
    from_number: str
    messaging_service_sid: str
    status_callbacks: bool
    download_media: bool
    max_media_bytes: int
    timeout: float
    api_base_url: str


def build_settings(options: dict[str, Any]) -> TwilioSettings:
    """Check what no single option can check alone; each message names the key to fix."""
    key_sid = str(options["api_key_sid"]).strip()
    key_secret = str(options["api_key_secret"])
    if key_sid and not key_secret.strip():
        raise PluginConfigError("api_key_secret: required when api_key_sid is set")
    if key_secret.strip() and not key_sid:
        raise PluginConfigError("api_key_sid: required when api_key_secret is set")
    from_number = str(options["from_number"]).strip()
    service = str(options["messaging_service_sid"]).strip()
    if not from_number and not service:
        raise PluginConfigError(
            "from_number: set the number replies are sent from, or messaging_service_sid"
        )
    account_sid = str(options["account_sid"]).strip()
    auth_token = str(options["auth_token"]).strip()
    return TwilioSettings(
        account_sid=account_sid,
        auth_token=auth_token,
        api_login=(key_sid, key_secret) if key_sid else (account_sid, auth_token),
        from_number=from_number,
        messaging_service_sid=service,
        status_callbacks=bool(options["status_callbacks"]),
        download_media=bool(options["download_media"]),
        max_media_bytes=int(float(options["max_media_mb"]) * 1024 * 1024),
        timeout=float(options["timeout"]),
        api_base_url=str(options["api_base_url"]).rstrip("/"),
    )


def sender_kind(value: str) -> str | None:
    """``"number"``, ``"short code"`` or ``"sender id"``; None when it is none of them."""
    value = value.strip()
    if _E164.fullmatch(value):
        return "number"
    if _SHORT_CODE.fullmatch(value):
        return "short code"
    if _ALPHANUMERIC.fullmatch(value):
        return "sender id"
    return None


def e164(value: str) -> str | None:
    """The number as Twilio wants it (``+`` and digits), or None when it is not one.

    Spaces, dots, dashes and brackets are dropped, as the desk compares
    phone numbers on their digits; a number without its country code is refused.
    """
    compact = re.sub(r"[\s().-]", "", value)
    return compact if _E164.fullmatch(compact) else None
