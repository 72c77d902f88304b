"""Fixtures and mail builders for the email channel's tests (load with pytest_plugins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from conftest import skip_or_fail
from servers.email_mail import SUPPORT
from servers.imap_server import DovecotServer, ImapAccount, find_dovecot, make_certificate
from servers.smtp_server import SmtpSink


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot per test module, with STARTTLS and IMAPS when openssl is
    there to make a certificate; each test gets its own account."""
    binary = find_dovecot()
    if binary is None:
        skip_or_fail("dovecot is not installed (apt-get install dovecot-imapd)")
    server = DovecotServer(binary)  # type: ignore[arg-type]
    server.tls = make_certificate(server.root)  # None without openssl: then no TLS
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def account(dovecot: DovecotServer) -> ImapAccount:
    return dovecot.add_user()


@pytest.fixture
async def sink(account: ImapAccount) -> AsyncIterator[SmtpSink]:
    """An SMTP server that wants a login and delivers mail for SUPPORT into the account."""
    async with SmtpSink("smtp-user", "smtp-pass") as server:
        server.deliver_to[SUPPORT] = account.append
        yield server
