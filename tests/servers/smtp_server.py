"""An aiosmtpd SMTP server on 127.0.0.1 for tests, running in the test's event loop.

It records every message it accepts and can deliver mail for chosen
addresses into an IMAP mailbox (``deliver_to``), so a test can play the
customer: send with smtplib, and the mail lands where the channel reads.
AUTH PLAIN/LOGIN is offered without TLS (loopback only) when credentials
are given, so the channel's login path runs too.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

#: Delivers raw message bytes somewhere (blocking; run in a thread).
Deliver = Callable[[bytes], None]


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class _Handler:
    received: list[ReceivedMail]
    deliver_to: dict[str, Deliver]
    arrived: asyncio.Condition
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refused = self.refuse.get(address.lower())
        if refused is not None:
            return f"{refused[0]} {refused[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail = ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        for address in mail.recipients:
            deliver = self.deliver_to.get(address.lower())
            if deliver is not None:
                await asyncio.to_thread(deliver, raw)
        async with self.arrived:
            self.received.append(mail)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    """``async with SmtpSink() as sink:`` serves SMTP on ``sink.port``."""

    def __init__(
        self,
        username: str = "",
        password: str = "",
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        """``tls_context`` offers STARTTLS, or with ``implicit_tls`` wraps every
        connection in TLS from the first byte (SMTPS)."""
        self.username = username
        self.password = password
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.received: list[ReceivedMail] = []
        self.deliver_to: dict[str, Deliver] = {}
        self._arrived = asyncio.Condition()
        self._handler = _Handler(self.received, self.deliver_to, self._arrived)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    def refuse(self, address: str, code: int, text: str) -> None:
        """Answer RCPT TO ``address`` with ``code`` (say 550) from now on."""
        self._handler.refuse[address.lower()] = (code, text)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def _protocol(self) -> SMTP:
        options: dict[str, Any] = {"hostname": "sink.test"}
        if self.username:
            options.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.tls_context is not None and not self.implicit_tls:
            options.update(tls_context=self.tls_context, require_starttls=False)
        return SMTP(self._handler, **options)

    async def __aenter__(self) -> SmtpSink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            "127.0.0.1",
            0,
            ssl=self.tls_context if self.implicit_tls else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait until ``count`` messages in all were received."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)

        await asyncio.wait_for(enough(), timeout)
        return list(self.received)

    def with_header(self, name: str, value: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if mail.message.get(name) == value]

    async def send_as_customer(self, message: EmailMessage, to: str) -> None:
        """Submit ``message`` like a customer's mail client (smtplib, in a thread)."""

        def submit() -> None:
            with smtplib.SMTP(
                "127.0.0.1", self.port, local_hostname="customer.test", timeout=10
            ) as client:
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message, to_addrs=[to])

        await asyncio.to_thread(submit)
