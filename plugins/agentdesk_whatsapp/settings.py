"""The channel's options, and the checked settings built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentdesk.plugin import Option, ReplyTemplate, is_loopback

from .templates import TEMPLATES

DEFAULT_API = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
#: WhatsApp's own limit on an image or a video a customer sends.
DEFAULT_MAX_MEDIA = 16 * 1024 * 1024
#: The longest text message the Cloud API takes.
MAX_TEXT = 4096

_PHONE_NUMBER_ID = re.compile(r"[0-9]{5,30}")
_VERSION = re.compile(r"v[0-9]{1,3}\.[0-9]{1,2}")


def _check_phone_number_id(value: str) -> str | None:
    if _PHONE_NUMBER_ID.fullmatch(value.strip()) is None:
        return (
            "expected the number's Phone number ID from the app's WhatsApp > API Setup page "
            f"(digits only; not the phone number itself), got {value!r}"
        )
    return None


def _not_empty(what: str) -> Any:
    def check(value: str) -> str | None:
        return None if value.strip() else f"the {what} is empty"

    return check


def _check_api(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"expected an http(s) URL like {DEFAULT_API}, got {value!r}"
    if parts.query or parts.fragment:
        return f"expected a URL without query or fragment, got {value!r}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "plain http is only allowed to a loopback test server; use https"
    return None


def _check_version(value: str) -> str | None:
    if _VERSION.fullmatch(value.strip()) is None:
        return f"expected a Graph API version such as {DEFAULT_VERSION}, got {value!r}"
    return None


OPTIONS: tuple[Option, ...] = (
    Option.text(
        "phone_number_id",
        help="the Phone number ID of the business number (WhatsApp > API Setup), not the number",
        validator=_check_phone_number_id,
    ),
    Option.secret(
        "access_token",
        help="a system user's access token with whatsapp_business_messaging; "
        "write ${WHATSAPP_TOKEN}",
        validator=_not_empty("access token"),
    ),
    Option.secret(
        "app_secret",
        help="the Meta app's App secret (App settings > Basic): checks webhook signatures; "
        "write ${WHATSAPP_APP_SECRET}",
        validator=_not_empty("app secret"),
    ),
    Option.secret(
        "verify_token",
        help="the Verify token typed in the app's webhook settings; write ${WHATSAPP_VERIFY_TOKEN}",
        validator=_not_empty("verify token"),
    ),
    Option.text(
        "api_base",
        default=DEFAULT_API,
        help="Meta's Graph API; change it only to point at a test server",
        validator=_check_api,
    ),
    Option.text(
        "api_version",
        default=DEFAULT_VERSION,
        help="the Graph API version requests use",
        validator=_check_version,
    ),
    Option.number(
        "max_media_bytes",
        default=DEFAULT_MAX_MEDIA,
        minimum=0,
        maximum=100 * 1024 * 1024,
        integer=True,
        help="pictures, voice notes and files larger than this are not downloaded "
        "(the message says so); 0 downloads none",
    ),
    Option.number(
        "timeout",
        default=10,
        minimum=0.1,
        maximum=25,
        help="seconds to wait for Meta's API (under the desk's 30 s send timeout)",
    ),
    TEMPLATES,
)


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    phone_number_id: str
    access_token: str
    app_secret: str
    verify_token: str
    api_base: str
    api_version: str
    max_media_bytes: int
    timeout: float
    templates: tuple[ReplyTemplate, ...]

    def url(self, path: str) -> str:
        """The Graph API URL of ``path`` (``"123/messages"``) at the configured version."""
        return f"{self.api_base}/{self.api_version}/{path.lstrip('/')}"

    def template(self, name: str) -> ReplyTemplate | None:
        return next((t for t in self.templates if t.name == name), None)


def build_settings(options: dict[str, Any]) -> WhatsAppSettings:
    """The settings of validated options (each checked alone by its declaration)."""
    return WhatsAppSettings(
        phone_number_id=str(options["phone_number_id"]).strip(),
        access_token=str(options["access_token"]).strip(),
        app_secret=str(options["app_secret"]).strip(),
        verify_token=str(options["verify_token"]),
        api_base=str(options["api_base"]).rstrip("/"),
        api_version=str(options["api_version"]).strip(),
        max_media_bytes=int(options["max_media_bytes"]),
        timeout=float(options["timeout"]),
        templates=tuple(options["templates"]),
    )
