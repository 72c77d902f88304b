"""Mail and channel options for the email channel's tests."""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage
from typing import Any

from servers.imap_server import ImapAccount
from servers.smtp_server import SmtpSink

SUPPORT = "support@shop.test"
CUSTOMER = "ann@customer.test"


def channel_options(account: ImapAccount, sink: SmtpSink, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "address": SUPPORT,
        "display_name": "Shop Support",
        "imap_host": "127.0.0.1",
        "imap_port": account.server.port,
        "imap_security": "plain",
        "username": account.username,
        "password": account.password,
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_security": "plain",
        "smtp_username": "smtp-user",
        "smtp_password": "smtp-pass",
        "initial_sync": "all",
        "poll_interval": 0.05,
    }
    options.update(overrides)
    return options


def customer_mail(
    text: str = "Hello, my parcel has not arrived.",
    *,
    subject: str = "Where is my parcel?",
    sender: str = CUSTOMER,
    name: str = "Ann Example",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr((name, sender))
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(1_790_000_000)
    message["Message-ID"] = message_id or email.utils.make_msgid(domain="customer.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text)
    return message
