"""The email channel passes the plugin conformance kit, against live Dovecot and aiosmtpd."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agentdesk_email import EmailChannel
from agentdesk_email.threading_refs import message_id_for
from servers.email_mail import CUSTOMER, channel_options, customer_mail
from servers.imap_server import ImapAccount
from servers.smtp_server import SmtpSink

from agentdesk.plugin import Channel, Outbound
from agentdesk.plugin.testing import ChannelContract, RecordingContext

pytest_plugins = ["servers.email_fixtures"]


class TestEmailContract(ChannelContract):
    channel_class = EmailChannel
    channel_name = "email"
    send_to = CUSTOMER
    options: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    async def _live_servers(self, account: ImapAccount, sink: SmtpSink) -> AsyncIterator[None]:
        """Point the channel at this test's own IMAP account and SMTP server."""
        self.account = account
        self.sink = sink
        self.options = channel_options(account, sink)
        yield

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        await asyncio.to_thread(self.account.append, bytes(customer_mail("Contract hello")))

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        message_id = message_id_for(outbound.key, outbound.task_number, "shop.test")
        return len(self.sink.with_header("Message-ID", message_id))
