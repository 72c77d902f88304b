"""The SMS channel's options, and the checked settings built from them.

The account's options (SID, token, API key, API address) are shared with the
voice channel: see ``account``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import Option, PluginConfigError

from .account import (
    CONNECTION_OPTIONS,
    CREDENTIAL_OPTIONS,
    DEFAULT_API,
    E164,
    TwilioAccount,
    build_account,
    e164,
    sid_validator,
)

__all__ = [
    "DEFAULT_API",
    "MAX_BODY",
    "OPTIONS",
    "TwilioSettings",
    "build_settings",
    "e164",
    "sender_kind",
]

#: Twilio refuses a body longer than this (error 21617).
MAX_BODY = 1600

_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
# An alphanumeric sender id: up to 11 letters, digits and spaces, one letter at least.
_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _check_from(value: str) -> str | None:
    if value == "" or sender_kind(value) is not None:
        return None
    return (
        "expected a Twilio number in international form (+15017122661), "
        f"a short code or an alphanumeric sender id, got {value!r}"
    )


OPTIONS: tuple[Option, ...] = (
    *CREDENTIAL_OPTIONS,
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
        validator=sid_validator(_SERVICE_SID, "a Messaging Service SID", "MG", optional=True),
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
    *CONNECTION_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account: TwilioAccount
    from_number: str
    messaging_service_sid: str
    status_callbacks: bool
    download_media: bool
    max_media_bytes: int

    # The account's fields, read where the SMS modules always read them.
    @property
    def account_sid(self) -> str:
        return self.account.account_sid

    @property
    def auth_token(self) -> str:
        return self.account.auth_token

    @property
    def api_login(self) -> tuple[str, str]:
        return self.account.api_login

    @property
    def timeout(self) -> float:
        return self.account.timeout

    @property
    def api_base_url(self) -> str:
        return self.account.api_base_url


def build_settings(options: dict[str, Any]) -> TwilioSettings:
    """Check what no single option can check alone; each message names the key to fix."""
    account = build_account(options)
    from_number = str(options["from_number"]).strip()
    service = str(options["messaging_service_sid"]).strip()
    if not from_number and not service:
        raise PluginConfigError(
            "from_number: set the number replies are sent from, or messaging_service_sid"
        )
    return TwilioSettings(
        account=account,
        from_number=from_number,
        messaging_service_sid=service,
        status_callbacks=bool(options["status_callbacks"]),
        download_media=bool(options["download_media"]),
        max_media_bytes=int(float(options["max_media_mb"]) * 1024 * 1024),
    )


def sender_kind(value: str) -> str | None:
    """``"number"``, ``"short code"`` or ``"sender id"``; None when it is none of them."""
    value = value.strip()
    if E164.fullmatch(value):
        return "number"
    if _SHORT_CODE.fullmatch(value):
        return "short code"
    if _ALPHANUMERIC.fullmatch(value):
        return "sender id"
    return None
