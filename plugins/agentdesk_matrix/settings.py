"""The matrix channel's options, and the checked settings built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentdesk.plugin import Option, OptionKind, PluginConfigError, is_loopback

#: A user id as the client-server API writes it: ``@localpart:server``.
USER_ID = re.compile(r"@[^:\s]+:([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")
#: A server name: a DNS name or an IP literal, with an optional port.
SERVER_NAME = re.compile(r"([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")
#: Every invite is accepted.
ANY = "any"


def server_of(user_id: str) -> str:
    """The server name of ``@localpart:server`` (lower case)."""
    return user_id.split(":", 1)[1].lower() if ":" in user_id else ""


class InvitesOption(Option):
    """``"any"``, or a list of server names whose users may invite the bot.

    The plugin API's options are of one kind each; this one takes either a
    word or a list, so it converts both itself.
    """

    __slots__ = ()

    def convert(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() == ANY:
                return ANY
            raise ValueError(f'expected "any" or a list of server names, got {value!r}')
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f'expected "any" or a list of server names, got {value!r}')
        names = tuple(v.strip().lower() for v in value)
        for name in names:
            if name != ANY and SERVER_NAME.fullmatch(name) is None:
                raise ValueError(f"expected server names like example.org, got {name!r}")
        return ANY if ANY in names else names

    def describe(self) -> str:
        return 'text or list, default "any"'


def _check_homeserver(value: str) -> str | None:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"expected the homeserver's URL like https://matrix.example.org, got {value!r}"
    if parts.query or parts.fragment:
        return f"expected a URL without query or fragment, got {value!r}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "plain http is only allowed to a homeserver on this machine; use https"
    return None


def _check_user_id(value: str) -> str | None:
    if USER_ID.fullmatch(value.strip()) is None:
        return f"expected a Matrix user id like @support:example.org, got {value!r}"
    return None


OPTIONS: tuple[Option, ...] = (
    Option.text(
        "homeserver",
        help="the homeserver's client API URL (https://matrix.example.org)",
        validator=_check_homeserver,
    ),
    Option.text(
        "user_id",
        help="the bot account's user id (@support:example.org)",
        validator=_check_user_id,
    ),
    Option.secret(
        "access_token",
        default="",
        help="the bot's access token; write ${MATRIX_TOKEN} (or set password instead)",
    ),
    Option.secret(
        "password",
        default="",
        help="the bot's password, to log in at start instead of an access token; "
        "write ${MATRIX_PASSWORD}",
    ),
    InvitesOption(
        "invites",
        OptionKind.LIST,
        help='who may open a conversation: "any", or a list of server names',
        default=ANY,
    ),
    Option.text(
        "display_name",
        default="",
        help="the name customers see for the bot (empty: leave the account's name)",
    ),
    Option.number(
        "max_media_mb",
        default=10,
        minimum=0,
        maximum=100,
        help="files customers send larger than this are listed, not stored",
    ),
    Option.text(
        "device_name",
        default="agentdesk",
        help="the name of the device a password login creates",
    ),
)


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    access_token: str
    password: str
    #: ``ANY``, or the server names whose users may invite the bot.
    invites: str | tuple[str, ...]
    display_name: str
    max_media_bytes: int
    device_name: str

    def invite_allowed(self, inviter: str) -> bool:
        return self.invites == ANY or server_of(inviter) in self.invites


def build_settings(options: dict[str, Any]) -> MatrixSettings:
    """Check what no single option can check alone; each message names the key to fix."""
    token = str(options["access_token"]).strip()
    password = str(options["password"])
    if not token and not password:
        raise PluginConfigError(
            "access_token: set the bot's access token (or its password, to log in at start)"
        )
    if token and password:
        raise PluginConfigError("password: set either access_token or password, not both")
    invites = options["invites"]
    return MatrixSettings(
        homeserver=str(options["homeserver"]).strip().rstrip("/"),
        user_id=str(options["user_id"]).strip(),
        access_token=token,
        password=password,
        invites=invites if isinstance(invites, str) else tuple(invites),
        display_name=str(options["display_name"]).strip(),
        max_media_bytes=int(float(options["max_media_mb"]) * 1024 * 1024),
        device_name=str(options["device_name"]).strip() or "agentdesk",
    )
