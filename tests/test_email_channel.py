"""The email channel against a real Dovecot (IMAP) and a real aiosmtpd (SMTP) on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agentdesk_email import EmailChannel
from agentdesk_email.imap_client import ImapAuthError, ImapClient
from conftest import skip_or_fail
from servers.email_mail import CUSTOMER, SUPPORT, channel_options, customer_mail
from servers.imap_server import DovecotServer, ImapAccount
from servers.smtp_server import SmtpSink

from agentdesk.plugin import (
    ChannelConnectionError,
    HealthState,
    InboundMessage,
    Outbound,
    PermanentDeliveryError,
    PluginConfigError,
    TemporaryDeliveryError,
)
from agentdesk.plugin.testing import MemoryState, RecordingContext

pytest_plugins = ["servers.email_fixtures"]


@contextlib.asynccontextmanager
async def running(
    options: dict[str, Any], *, state: MemoryState | None = None, data_dir: Path | None = None
) -> AsyncIterator[tuple[EmailChannel, RecordingContext]]:
    ctx = RecordingContext.for_channel(
        EmailChannel, options, channel_name="mail", state=state, data_dir=data_dir
    )
    channel = EmailChannel(ctx)
    try:
        await channel.start()
        yield channel, ctx
    finally:
        await channel.stop()
        ctx.close()
    assert not ctx.crashes, ctx.crashes


async def next_message(ctx: RecordingContext, timeout: float = 30) -> InboundMessage:
    item = await ctx.next_inbound(timeout)
    assert isinstance(item, InboundMessage)
    return item


def reply_to(message: InboundMessage, key: str, text: str, number: int = 1042) -> Outbound:
    """The Outbound the desk builds for an agent's reply to ``message``."""
    return Outbound(
        key=key,
        to=message.identity,
        text=text,
        task_id="task-1",
        task_number=number,
        customer_name=message.customer_name,
        subject=message.subject,
        in_reply_to=message.external_id,
        thread_ref=message.thread_ref,
        references=(message.external_id,) if message.external_id else (),
        agent="ana",
    )


async def test_new_mail_becomes_an_inbound_message(account: ImapAccount, sink: SmtpSink) -> None:
    async with running(channel_options(account, sink)) as (_, ctx):
        sent = customer_mail(message_id="<first@customer.test>")
        await sink.send_as_customer(sent, SUPPORT)  # smtplib → aiosmtpd → IMAP APPEND
        message = await next_message(ctx)
    assert message.identity == CUSTOMER
    assert message.customer_name == "Ann Example"
    assert message.subject == "Where is my parcel?"
    assert message.text == "Hello, my parcel has not arrived."
    assert message.external_id == "<first@customer.test>"
    assert message.thread_ref == "<first@customer.test>"  # a new conversation is its own root
    assert message.task_number is None
    assert message.at == 1_790_000_000


async def test_reply_is_threaded_and_the_customer_reply_threads_back(
    account: ImapAccount, sink: SmtpSink
) -> None:
    async with running(channel_options(account, sink)) as (channel, ctx):
        await sink.send_as_customer(customer_mail(message_id="<root@customer.test>"), SUPPORT)
        first = await next_message(ctx)
        delivery = await channel.send(reply_to(first, "reply-1", "We are on it."))
        [ours] = [mail for mail in sink.received if SUPPORT not in mail.recipients]
        sent = ours.message
        assert ours.recipients == [CUSTOMER]
        assert sent["Message-ID"] == delivery.external_id
        assert delivery.external_id.endswith("@shop.test>")
        assert sent["In-Reply-To"] == "<root@customer.test>"
        assert sent["References"] == "<root@customer.test>"
        assert sent["Subject"] == "Re: Where is my parcel? [#1042]"
        assert sent["From"] == "Shop Support <support@shop.test>"
        assert sent.get_content().strip() == "We are on it."

        # The customer answers from a mail client: References = root + our reply.
        answer = customer_mail(
            "Thanks! It came today.\n\nOn Tue, Support wrote:\n> We are on it.",
            subject=sent["Subject"].replace("Re: ", "Re: Re: ", 1),
            in_reply_to=sent["Message-ID"],
            references=f"<root@customer.test> {sent['Message-ID']}",
        )
        await sink.send_as_customer(answer, SUPPORT)
        second = await next_message(ctx)
        assert second.thread_ref == first.thread_ref == "<root@customer.test>"
        assert second.task_number == 1042
        assert second.text == "Thanks! It came today."
        assert "> We are on it." in second.attributes["full_text"]

        # A client that dropped References and In-Reply-To: the subject token still says 1042.
        bare = customer_mail("One more thing.", subject="Re: Where is my parcel? [#1042]")
        await sink.send_as_customer(bare, SUPPORT)
        third = await next_message(ctx)
        assert third.task_number == 1042

        # A reply to our reply whose References kept only our Message-ID.
        partial = customer_mail("And another.", subject="Hello", in_reply_to=sent["Message-ID"])
        await sink.send_as_customer(partial, SUPPORT)
        fourth = await next_message(ctx)
        assert fourth.task_number == 1042
        assert fourth.thread_ref == sent["Message-ID"]


async def test_send_is_idempotent_even_after_a_restart(
    account: ImapAccount, sink: SmtpSink
) -> None:
    state = MemoryState()
    outbound = Outbound(
        key="outbox-77", to=CUSTOMER, text="Done.", task_id="t", task_number=7, subject="Refund"
    )
    async with running(channel_options(account, sink), state=state) as (channel, _):
        first = await channel.send(outbound)
        again = await channel.send(outbound)
        both = await asyncio.gather(channel.send(outbound), channel.send(outbound))
    async with running(channel_options(account, sink), state=state) as (channel, _):
        after_restart = await channel.send(outbound)
    assert {first.external_id, again.external_id, after_restart.external_id} == {first.external_id}
    assert all(d.external_id == first.external_id for d in both)
    assert len(sink.with_header("Message-ID", first.external_id)) == 1
    assert sink.received[0].message["Subject"] == "Refund [#7]"


async def test_concurrent_sends_of_one_key_send_once(account: ImapAccount, sink: SmtpSink) -> None:
    outbound = Outbound(key="k-c", to=CUSTOMER, text="Hi", task_id="t", task_number=3)
    async with running(channel_options(account, sink)) as (channel, _):
        results = await asyncio.gather(*(channel.send(outbound) for _ in range(5)))
    assert len({r.external_id for r in results}) == 1
    assert len(sink.received) == 1


async def test_a_restart_loses_and_duplicates_nothing(account: ImapAccount, sink: SmtpSink) -> None:
    state = MemoryState()
    options = channel_options(account, sink)
    async with running(options, state=state) as (_, ctx):
        for n in (1, 2):
            account.append(bytes(customer_mail(f"mail {n}", message_id=f"<m{n}@c.test>")))
        seen = [(await next_message(ctx)).external_id for _ in range(2)]
    assert seen == ["<m1@c.test>", "<m2@c.test>"]
    # While the channel is stopped, three more arrive.
    for n in (3, 4, 5):
        account.append(bytes(customer_mail(f"mail {n}", message_id=f"<m{n}@c.test>")))
    async with running(options, state=state) as (_, ctx):
        seen = [(await next_message(ctx)).external_id for _ in range(3)]
        # A marker sent last proves the channel went through everything before it.
        account.append(bytes(customer_mail("marker", message_id="<marker@c.test>")))
        assert (await next_message(ctx)).external_id == "<marker@c.test>"
        assert seen == ["<m3@c.test>", "<m4@c.test>", "<m5@c.test>"]
        assert len(ctx.emitted) == 4
    cursor = state.get("imap:INBOX")
    assert cursor["last_uid"] == 6 and cursor["uidvalidity"] > 0


async def test_the_same_instance_can_be_stopped_and_started_again(
    dovecot: DovecotServer, account: ImapAccount, sink: SmtpSink
) -> None:
    async with running(channel_options(account, sink, poll_interval=3600)) as (channel, ctx):
        await channel.stop()
        assert channel.health().state == HealthState.STOPPED
        account.append(bytes(customer_mail("while stopped", message_id="<stopped@c.test>")))
        await channel.start()
        assert (await next_message(ctx)).external_id == "<stopped@c.test>"
        # After a restart a dropped connection is still reopened, not given up.
        await _wait_up(ctx)
        ups = sum(1 for h in ctx.health if h.state == HealthState.UP)
        assert dovecot.disconnect(account.username) == 1
        await _wait_for_reports(ctx, HealthState.UP, ups + 1)
        account.append(bytes(customer_mail("after", message_id="<after@c.test>")))
        assert (await next_message(ctx)).external_id == "<after@c.test>"


async def test_idle_picks_up_new_mail_without_polling(account: ImapAccount, sink: SmtpSink) -> None:
    # With a one-hour poll interval only IDLE can deliver the mail within the wait.
    options = channel_options(account, sink, poll_interval=3600)
    async with running(options) as (channel, ctx):
        await _wait_up(ctx)
        assert "IDLE" in ctx.last_health.detail
        account.append(bytes(customer_mail("arrives while idling")))
        message = await next_message(ctx, timeout=5)
        assert message.text == "arrives while idling"
        assert channel.health().state == HealthState.UP


async def test_a_dropped_connection_is_reopened(
    dovecot: DovecotServer, account: ImapAccount, sink: SmtpSink
) -> None:
    async with running(channel_options(account, sink, poll_interval=3600)) as (_, ctx):
        await _wait_up(ctx)
        for round_ in (1, 2):
            assert dovecot.disconnect(account.username) == 1
            await _wait_for_reports(ctx, HealthState.DEGRADED, round_)
            await _wait_for_reports(ctx, HealthState.UP, round_ + 1)
            account.append(bytes(customer_mail(f"after drop {round_}")))
            assert (await next_message(ctx)).text == f"after drop {round_}"
        degraded = [h.detail for h in ctx.health if h.state == HealthState.DEGRADED]
        assert all(detail.startswith("reconnecting: ") for detail in degraded)
        # Two drops in a row with no completed wait between are left to the
        # desk, which restarts the channel with backoff.
        await _wait_for_reports(ctx, HealthState.UP, 3)
        assert dovecot.disconnect(account.username) == 1
        await _wait_for_reports(ctx, HealthState.UP, 4)
        assert dovecot.disconnect(account.username) == 1
        for _ in range(500):
            if ctx.crashes:
                break
            await asyncio.sleep(0.01)
        [crash] = ctx.crashes
        assert isinstance(crash, ChannelConnectionError)
        ctx.crashes.clear()


async def _wait_for_reports(ctx: RecordingContext, state: HealthState, count: int) -> None:
    """Wait until the channel has reported ``state`` ``count`` times in all."""
    for _ in range(1000):
        if sum(1 for h in ctx.health if h.state == state) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"channel never reported {state} {count} times: {ctx.health}")


async def test_polling_when_idle_is_off(account: ImapAccount, sink: SmtpSink) -> None:
    async with running(channel_options(account, sink, idle=False)) as (_, ctx):
        await _wait_up(ctx)
        assert "polling" in ctx.last_health.detail
        account.append(bytes(customer_mail("found by polling")))
        assert (await next_message(ctx)).text == "found by polling"


async def _wait_up(ctx: RecordingContext) -> None:
    for _ in range(500):
        if ctx.last_health is not None and ctx.last_health.state == HealthState.UP:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"channel never came up: {ctx.health}")


async def test_initial_sync_new_ignores_the_backlog(account: ImapAccount, sink: SmtpSink) -> None:
    account.append(bytes(customer_mail("old", message_id="<old@c.test>")))
    async with running(channel_options(account, sink, initial_sync="new")) as (_, ctx):
        await _wait_up(ctx)
        account.append(bytes(customer_mail("new", message_id="<new@c.test>")))
        assert (await next_message(ctx)).external_id == "<new@c.test>"
        assert len(ctx.emitted) == 1


async def test_initial_sync_unseen_takes_unread_mail_only(
    account: ImapAccount, sink: SmtpSink
) -> None:
    account.append(bytes(customer_mail("read", message_id="<read@c.test>")), flags="(\\Seen)")
    account.append(bytes(customer_mail("unread", message_id="<unread@c.test>")))
    async with running(channel_options(account, sink, initial_sync="unseen")) as (_, ctx):
        assert (await next_message(ctx)).external_id == "<unread@c.test>"
        account.append(bytes(customer_mail("marker", message_id="<marker@c.test>")))
        assert (await next_message(ctx)).external_id == "<marker@c.test>"


async def test_processed_mail_is_moved(account: ImapAccount, sink: SmtpSink) -> None:
    options = channel_options(account, sink, processed="move", processed_folder="Traités")
    async with running(options) as (_, ctx):
        account.append(bytes(customer_mail("move me")))
        await next_message(ctx)
        account.append(bytes(customer_mail("marker")))
        await next_message(ctx)
    # The first message was moved before the marker was handed over; the
    # marker's own move may have been cut short by stop().
    moved = account.uids("Trait&AOk-s")  # "Traités" in modified UTF-7
    assert len(moved) >= 1 and len(moved) + len(account.uids("INBOX")) == 2


async def test_processed_mail_is_flagged_seen(account: ImapAccount, sink: SmtpSink) -> None:
    async with running(channel_options(account, sink, processed="seen")) as (_, ctx):
        account.append(bytes(customer_mail("flag me")))
        await next_message(ctx)
        account.append(bytes(customer_mail("marker")))
        await next_message(ctx)
    assert len(account.uids("INBOX", "SEEN")) >= 1


async def test_a_renumbered_mailbox_is_read_again(account: ImapAccount, sink: SmtpSink) -> None:
    state = MemoryState()
    options = channel_options(account, sink, mailbox="Support")
    account.append(bytes(customer_mail("before", message_id="<before@c.test>")), "Support")
    async with running(options, state=state) as (_, ctx):
        await next_message(ctx)
    first_validity = state.get("imap:Support")["uidvalidity"]
    with account.connect() as connection:
        connection.delete("Support")  # recreated: the server gives it a new UIDVALIDITY
    account.append(bytes(customer_mail("after", message_id="<after@c.test>")), "Support")
    async with running(options, state=state) as (_, ctx):
        assert (await next_message(ctx)).external_id == "<after@c.test>"
    assert state.get("imap:Support")["uidvalidity"] != first_validity


async def test_automated_mail_is_skipped_with_a_reason(
    account: ImapAccount, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    automated = [
        customer_mail("I am away", headers={"Auto-Submitted": "auto-replied"}),
        customer_mail("Newsletter", headers={"Precedence": "bulk"}),
        customer_mail("List post", headers={"List-Id": "<chat.lists.example>"}),
        customer_mail("Vacation", headers={"X-Autoreply": "yes"}),
        customer_mail("Ourselves", sender=SUPPORT),
    ]
    for message in automated:
        account.append(bytes(message))
    account.append(_bounce())
    async with running(channel_options(account, sink)) as (_, ctx):
        account.append(bytes(customer_mail("a person", message_id="<person@c.test>")))
        assert (await next_message(ctx)).external_id == "<person@c.test>"
        assert len(ctx.emitted) == 1
    reasons = "\n".join(r.getMessage() for r in caplog.records if "skipped" in r.getMessage())
    for expected in (
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "mailing list",
        "X-Autoreply",
        "own address",
        "multipart/report (delivery-status)",
    ):
        assert expected in reasons
    assert not sink.received  # nothing was answered


def _bounce() -> bytes:
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n"
        b"To: support@shop.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce@mx.customer.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.test\r\n\r\nFinal-Recipient: rfc822; x@y\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n--b--\r\n"
    )


async def test_hostile_and_broken_mail_is_read_with_logged_reasons(
    account: ImapAccount, sink: SmtpSink, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    broken_mime = (
        b"From: bob@customer.test\r\nSubject: broken\r\nMessage-ID: <broken@c.test>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n'
        b"--zz\r\nContent-Type: text/plain\r\n\r\nstill readable\r\n"
        b"--zz\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n"
    )
    unknown_charset = (
        b"From: =?x-klingon?q?K=E9ith?= <keith@customer.test>\r\n"
        b"Subject: =?x-klingon?q?caf=E9?=\r\nMessage-ID: <charset@c.test>\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nna\xefve\r\n"
    )
    big = _with_attachments(
        "<big@c.test>", [("bill.pdf", b"%PDF small"), ("huge.zip", bytes(20 * 1024 * 1024))]
    )
    for raw in (broken_mime, unknown_charset, big):
        account.append(raw)
    options = channel_options(account, sink, max_attachment_mb=10)
    async with running(options, data_dir=tmp_path / "data") as (_, ctx):
        first, second = [await next_message(ctx) for _ in range(2)]
        # Parsing 27 MB takes seconds, longer on a loaded machine: a generous bound.
        third = await next_message(ctx, timeout=120)

    assert first.text == "still readable"
    assert "MIME" in first.attributes["problems"]
    assert second.text == "na\ufffdve" and second.subject == "caf\ufffd"
    assert "unknown charset 'x-klingon'" in second.attributes["problems"]
    small, huge = third.attachments
    assert small.name == "bill.pdf" and small.path is not None
    assert Path(small.path).read_bytes() == b"%PDF small"
    assert Path(small.path).is_relative_to(tmp_path / "data")
    assert huge.name == "huge.zip" and huge.path is None and huge.size == 20 * 1024 * 1024
    assert (
        "huge.zip: 20.0 MB is over the 10.0 MB limit; not stored"
        in third.attributes["attachment_notes"]
    )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "unknown charset 'x-klingon'" in logged
    assert "huge.zip" in logged and "not stored" in logged


def _with_attachments(message_id: str, files: list[tuple[str, bytes]]) -> bytes:
    """A customer's mail with attachments, built directly as bytes (the email
    package takes seconds to serialise 20 MB)."""
    parts = [
        b"From: Ann Example <ann@customer.test>\r\nTo: support@shop.test\r\n"
        b"Subject: Where is my parcel?\r\nMessage-ID: " + message_id.encode() + b"\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="part"\r\n\r\n'
        b"--part\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee the attached files\r\n"
    ]
    for name, data in files:
        parts.append(
            b"--part\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(data).replace(b"\n", b"\r\n")
        )
    parts.append(b"--part--\r\n")
    return b"".join(parts)


async def test_a_message_over_the_size_cap_is_not_downloaded(
    account: ImapAccount, sink: SmtpSink
) -> None:
    account.append(_with_attachments("<large@c.test>", [("big.bin", bytes(2 * 1024 * 1024))]))
    async with running(channel_options(account, sink, max_message_mb=1)) as (_, ctx):
        message = await next_message(ctx)
    assert message.external_id == "<large@c.test>"
    assert message.subject == "Where is my parcel?"
    assert "not downloaded" in message.text and "not_downloaded" in message.attributes


async def test_header_injection_is_neutralised(
    account: ImapAccount, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    hostile = Outbound(
        key="inject",
        to=CUSTOMER,
        text="Body",
        task_id="t",
        task_number=9,
        customer_name="Ann\r\nBcc: victim@evil.test",
        subject="Refund\r\nBcc: victim@evil.test\r\n\r\nfake body",
        in_reply_to="<a@b>\r\nBcc: victim@evil.test",
        references=("<ok@c.test>", "not-an-id\r\nX-Evil: 1"),
    )
    async with running(channel_options(account, sink)) as (channel, _):
        await channel.send(hostile)
        with pytest.raises(PermanentDeliveryError):
            await channel.send(
                Outbound(
                    key="i2",
                    to="a@b.test\r\nBcc: v@evil.test",
                    text="x",
                    task_id="t",
                    task_number=9,
                )
            )
        with pytest.raises(PermanentDeliveryError):
            await channel.send(
                Outbound(key="i3", to="a@b.test, v@evil.test", text="x", task_id="t", task_number=9)
            )
    [mail] = sink.received
    assert mail.recipients == [CUSTOMER]
    sent = mail.message
    assert "Bcc" not in sent and "X-Evil" not in sent
    assert sent["Subject"] == "Re: Refund Bcc: victim@evil.test fake body [#9]"
    assert sent["To"].addresses[0].addr_spec == CUSTOMER
    assert "victim@evil.test" not in sent["To"].addresses[0].addr_spec
    assert sent["In-Reply-To"] == "<a@b>"
    assert sent["References"] == "<ok@c.test> <a@b>"
    assert b"\r\nBcc:" not in mail.raw
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "reply inject: control characters (line breaks) in the subject made spaces" in logged
    assert "in the customer name made spaces" in logged
    assert "2 malformed Message-ID(s) left out" in logged


async def test_smtp_failures_are_typed(account: ImapAccount, sink: SmtpSink) -> None:
    sink.refuse("gone@customer.test", 550, "5.1.1 no such user")
    sink.refuse("full@customer.test", 452, "4.2.2 mailbox full")
    async with running(channel_options(account, sink)) as (channel, _):
        with pytest.raises(PermanentDeliveryError, match="550"):
            await channel.send(
                Outbound(key="a", to="gone@customer.test", text="x", task_id="t", task_number=1)
            )
        with pytest.raises(TemporaryDeliveryError, match="452"):
            await channel.send(
                Outbound(key="b", to="full@customer.test", text="x", task_id="t", task_number=1)
            )
    wrong_login = channel_options(account, sink, smtp_password="nope")
    async with running(wrong_login) as (channel, _):
        with pytest.raises(TemporaryDeliveryError, match="login refused"):
            await channel.send(Outbound(key="c", to=CUSTOMER, text="x", task_id="t", task_number=1))
    no_server = channel_options(account, sink, smtp_port=account.server.port + 0)
    no_server["smtp_port"] = _closed_port()
    async with running(no_server) as (channel, _):
        with pytest.raises(TemporaryDeliveryError, match="cannot reach"):
            await channel.send(Outbound(key="d", to=CUSTOMER, text="x", task_id="t", task_number=1))
    assert not sink.received


def _closed_port() -> int:
    from servers.imap_server import free_port

    return free_port()


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_and_starttls_verified_with_a_private_ca(
    dovecot: DovecotServer, account: ImapAccount, mode: str
) -> None:
    if dovecot.tls is None:
        skip_or_fail("openssl is not installed (apt-get install openssl): no test certificate")
    cert, key = dovecot.tls
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    async with SmtpSink(
        "smtp-user", "smtp-pass", tls_context=server_tls, implicit_tls=mode == "tls"
    ) as sink:
        port = dovecot.port if mode == "starttls" else dovecot.tls_port
        options = channel_options(
            account, sink, imap_security=mode, imap_port=port, smtp_security=mode
        )
        # Without the private CA the server's certificate is refused.
        with pytest.raises(ChannelConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            async with running(options):
                pass
        async with running({**options, "ca_file": str(cert)}) as (channel, ctx):
            account.append(bytes(customer_mail("over TLS")))
            message = await next_message(ctx)
            assert message.text == "over TLS"
            await channel.send(reply_to(message, "tls-reply", "Answer over TLS"))
        assert [mail.message["Subject"] for mail in sink.received] == [
            "Re: Where is my parcel? [#1042]"
        ]


@pytest.mark.parametrize("capabilities", ["AUTH=PLAIN", "LOGIN+LITERAL+", "LOGIN"])
async def test_passwords_needing_quotes_and_utf8_log_in(
    dovecot: DovecotServer, capabilities: str
) -> None:
    """AUTHENTICATE PLAIN when offered, else LOGIN with a literal (LITERAL+ or
    synchronising): every path carries a password with quotes, a backslash,
    a space and a non-ASCII letter."""
    account = dovecot.awkward
    assert account is not None
    client = await ImapClient.connect(
        "127.0.0.1", dovecot.port, security="plain", ssl_context=None, timeout=10
    )
    try:
        if capabilities != "AUTH=PLAIN":
            client.capabilities -= {"SASL-IR", "AUTH=PLAIN"}
        if capabilities == "LOGIN":
            client.capabilities -= {"LITERAL+"}
        await client.login(account.username, account.password)
        assert (await client.select("INBOX")).uidvalidity > 0
        with pytest.raises(ImapAuthError):
            other = await ImapClient.connect(
                "127.0.0.1", dovecot.port, security="plain", ssl_context=None, timeout=10
            )
            try:
                await other.login(account.username, account.password + "x")
            finally:
                other.close()
    finally:
        await client.logout()


async def test_a_missing_mailbox_fails_start(account: ImapAccount, sink: SmtpSink) -> None:
    with pytest.raises(ChannelConnectionError, match="mailbox 'Nope' cannot be opened"):
        async with running(channel_options(account, sink, mailbox="Nope")):
            pass


async def test_wrong_imap_password_fails_start(account: ImapAccount, sink: SmtpSink) -> None:
    ctx = RecordingContext.for_channel(
        EmailChannel, channel_options(account, sink, password="wrong"), channel_name="mail"
    )
    channel = EmailChannel(ctx)
    with pytest.raises(ChannelConnectionError, match="login refused"):
        await channel.start()
    await channel.stop()
    ctx.close()


def test_plain_text_to_a_remote_server_is_refused(tmp_path: Path) -> None:
    options = {
        "address": SUPPORT,
        "imap_host": "imap.example.com",
        "imap_security": "plain",
        "imap_port": 143,
        "username": "u",
        "password": "p",
        "smtp_host": "smtp.example.com",
    }
    with pytest.raises(PluginConfigError, match="imap_security: plain"):
        EmailChannel(RecordingContext.for_channel(EmailChannel, options, data_dir=tmp_path))
    options["imap_security"] = "tls"
    options["address"] = "not an address"
    with pytest.raises(PluginConfigError, match="address"):
        EmailChannel(RecordingContext.for_channel(EmailChannel, options, data_dir=tmp_path))
    # Without an address, a username that is one is the From of replies.
    del options["address"]
    options["username"] = "Help@Shop.test"
    channel = EmailChannel(RecordingContext.for_channel(EmailChannel, options, data_dir=tmp_path))
    assert channel.settings.address == "help@shop.test"
    assert channel.settings.message_id_domain == "shop.test"
    assert channel.settings.smtp.username == "Help@Shop.test"
