"""The email channel's options, and the checked settings built from them."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdesk.plugin import Option, PluginConfigError, is_loopback

SECURITY = ("tls", "starttls", "plain")

OPTIONS: tuple[Option, ...] = (
    Option.text(
        "address",
        default="",
        help="the mailbox's address, the From of every reply (default: username)",
    ),
    Option.text("display_name", default="", help="the name shown beside the address"),
    Option.text("imap_host", help="IMAP server name, e.g. imap.gmail.com"),
    Option.number("imap_port", default=993, minimum=1, maximum=65535, integer=True),
    Option.choice(
        "imap_security",
        SECURITY,
        default="tls",
        help="tls (port 993), starttls (port 143), or plain (loopback only)",
    ),
    Option.text("username", help="login name for IMAP and, unless smtp_username is set, SMTP"),
    Option.secret("password", help="password or app password; write ${ENV_VAR}"),
    Option.text("mailbox", default="INBOX", help="the IMAP folder to read"),
    Option.flag("idle", default=True, help="use IMAP IDLE when the server offers it"),
    Option.number(
        "poll_interval",
        default=60,
        minimum=0.05,
        help="seconds between checks when IDLE is off or not offered",
    ),
    Option.number(
        "idle_renew",
        default=1500,
        minimum=1,
        maximum=1740,
        help="seconds before an IDLE is renewed (servers drop it after 30 minutes)",
    ),
    Option.choice(
        "initial_sync",
        ("unseen", "all", "new"),
        default="unseen",
        help="on the very first start: take unread mail, all mail, or only mail that arrives later",
    ),
    Option.choice(
        "processed",
        ("none", "seen", "move"),
        default="none",
        help="what to do with a message once the desk has it: nothing, flag it seen, or move it",
    ),
    Option.text("processed_folder", default="Processed", help="target folder of processed=move"),
    Option.text("smtp_host", help="SMTP server name, e.g. smtp.gmail.com"),
    Option.number("smtp_port", default=587, minimum=1, maximum=65535, integer=True),
    Option.choice(
        "smtp_security",
        SECURITY,
        default="starttls",
        help="starttls (port 587), tls (port 465), or plain (loopback only)",
    ),
    Option.text("smtp_username", default="", help="SMTP login when it differs from username"),
    Option.secret("smtp_password", default="", help="SMTP password when it differs"),
    Option.text(
        "message_id_domain",
        default="",
        help="right-hand side of our Message-IDs (default: the address's domain)",
    ),
    Option.number(
        "max_attachment_mb",
        default=10,
        minimum=0,
        help="attachments larger than this are listed but not stored",
    ),
    Option.number(
        "max_message_mb",
        default=50,
        minimum=0.01,
        help="messages larger than this are not downloaded; their headers open a task",
    ),
    Option.list(
        "allow_lists",
        help="List-Id values accepted (when the support address is itself a mailing list)",
    ),
    Option.text("ca_file", default="", help="PEM file of extra CAs to trust (self-signed servers)"),
    Option.number("timeout", default=30, minimum=1, help="seconds to wait for a server reply"),
)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str
    port: int
    security: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class EmailSettings:
    address: str
    display_name: str
    imap: ServerSettings
    smtp: ServerSettings
    mailbox: str
    idle: bool
    poll_interval: float
    idle_renew: float
    initial_sync: str
    processed: str
    processed_folder: str
    message_id_domain: str
    max_attachment_bytes: int
    max_message_bytes: int
    allow_lists: tuple[str, ...]
    ca_file: str
    timeout: float

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context, trusting ``ca_file`` too when one is set."""
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context


def build_settings(options: dict[str, Any]) -> EmailSettings:
    """Check the combination of options the declaration cannot check alone."""
    address = str(options["address"] or options["username"]).strip()
    if "@" not in address or any(ch in address for ch in ' \t\r\n<>,;"'):
        raise PluginConfigError(
            f"address: {address!r} is not an email address (set address when the "
            "username is not one)"
        )
    domain = (options["message_id_domain"] or address.rsplit("@", 1)[1]).strip()
    if not domain or any(ch in domain for ch in " \t\r\n<>@"):
        raise PluginConfigError(f"message_id_domain: {domain!r} is not a domain name")
    imap = ServerSettings(
        host=options["imap_host"],
        port=int(options["imap_port"]),
        security=options["imap_security"],
        username=options["username"],
        password=options["password"],
    )
    smtp = ServerSettings(
        host=options["smtp_host"],
        port=int(options["smtp_port"]),
        security=options["smtp_security"],
        username=options["smtp_username"] or options["username"],
        password=options["smtp_password"] or options["password"],
    )
    for name, server in (("imap", imap), ("smtp", smtp)):
        if server.security == "plain" and not is_loopback(server.host):
            raise PluginConfigError(
                f"{name}_security: plain (unencrypted) is only allowed to a loopback "
                f"server, not {server.host!r}; use tls or starttls"
            )
    if options["processed"] == "move" and not options["processed_folder"].strip():
        raise PluginConfigError("processed_folder: required when processed = 'move'")
    ca_file = options["ca_file"]
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise PluginConfigError(f"ca_file: {ca_file!r} is not a file")
    return EmailSettings(
        address=address.lower(),
        display_name=options["display_name"],
        imap=imap,
        smtp=smtp,
        mailbox=options["mailbox"] or "INBOX",
        idle=options["idle"],
        poll_interval=float(options["poll_interval"]),
        idle_renew=float(options["idle_renew"]),
        initial_sync=options["initial_sync"],
        processed=options["processed"],
        processed_folder=options["processed_folder"].strip(),
        message_id_domain=domain.lower(),
        max_attachment_bytes=int(float(options["max_attachment_mb"]) * 1024 * 1024),
        max_message_bytes=int(float(options["max_message_mb"]) * 1024 * 1024),
        allow_lists=tuple(options["allow_lists"] or ()),
        ca_file=str(Path(ca_file).expanduser()) if ca_file else "",
        timeout=float(options["timeout"]),
    )
