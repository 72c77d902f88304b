"""The email channel with the real desk: mail opens a task, the agent's reply goes
out through the outbox, and the customer's answers thread back onto the task."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from agentdesk_email import EmailChannel
from servers.email_mail import CUSTOMER, SUPPORT, channel_options, customer_mail
from servers.imap_server import ImapAccount
from servers.smtp_server import ReceivedMail, SmtpSink

from agentdesk.core.desk import Desk
from agentdesk.core.desk.ingest import IngestResult
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import Status
from agentdesk.plugin import InboundMessage
from agentdesk.plugin.testing import RecordingContext

pytest_plugins = ["servers.email_fixtures"]


@contextlib.asynccontextmanager
async def mail_channel(
    account: ImapAccount, sink: SmtpSink, tmp_path: Path
) -> AsyncIterator[tuple[EmailChannel, RecordingContext]]:
    # Named "mail": the conftest desk has an email channel of that name.
    ctx = RecordingContext.for_channel(
        EmailChannel, channel_options(account, sink), channel_name="mail", data_dir=tmp_path
    )
    channel = EmailChannel(ctx)
    await channel.start()
    try:
        yield channel, ctx
    finally:
        await channel.stop()


async def receive(desk: Desk, ctx: RecordingContext) -> IngestResult:
    item = await ctx.next_inbound(10)
    assert isinstance(item, InboundMessage)
    result = await desk.ingest("mail", item)
    assert result is not None
    return result


async def deliver_outbox(desk: Desk, channel: EmailChannel, now: float) -> None:
    """What the desk's outbox dispatcher does: send every due entry once."""
    for entry in desk.outbox_due(now):
        delivery = await channel.send(await desk.outbound_for(entry))
        await desk.delivery_succeeded(entry, delivery)


def our_mail(sink: SmtpSink) -> list[ReceivedMail]:
    return [mail for mail in sink.received if CUSTOMER in mail.recipients]


async def test_a_conversation_stays_on_one_task(
    desk: Desk, client: LocalDeskClient, clock, account: ImapAccount, sink: SmtpSink, tmp_path: Path
) -> None:
    async with mail_channel(account, sink, tmp_path) as (channel, ctx):
        await sink.send_as_customer(customer_mail(message_id="<q1@customer.test>"), SUPPORT)
        first = await receive(desk, ctx)
        assert first.created_task
        task = first.task

        await client.reply(task.id, "We are looking into it.")
        await deliver_outbox(desk, channel, clock.now)
        [reply] = our_mail(sink)
        sent = reply.message
        assert sent["Subject"] == f"Re: Where is my parcel? [#{task.number}]"
        assert sent["In-Reply-To"] == "<q1@customer.test>"

        # The customer answers our reply from their mail client.
        answer = customer_mail(
            "Thank you!\n\nOn Tue, Shop Support wrote:\n> We are looking into it.",
            subject=sent["Subject"],
            in_reply_to=sent["Message-ID"],
            references=f"<q1@customer.test> {sent['Message-ID']}",
        )
        await sink.send_as_customer(answer, SUPPORT)
        second = await receive(desk, ctx)
        assert second.task.id == task.id and not second.created_task

        # Closed, then the customer writes again quoting only the task token.
        await client.set_status(task.id, Status.CLOSED)
        later = customer_mail("It broke again.", subject=f"Re: parcel [#{task.number}]")
        await sink.send_as_customer(later, SUPPORT)
        third = await receive(desk, ctx)
        assert third.task.id == task.id

        # The second reply threads under the whole chain, root first.
        await client.reply(task.id, "Sending a new one.")
        await deliver_outbox(desk, channel, clock.now)
        second_reply = our_mail(sink)[-1].message
        references = second_reply["References"].split()
        assert references[0] == "<q1@customer.test>"
        assert sent["Message-ID"] in references
        assert second_reply["In-Reply-To"] == third.event.external_id


async def test_a_handoff_to_email_threads_the_customer_answer(
    desk: Desk, client: LocalDeskClient, clock, account: ImapAccount, sink: SmtpSink, tmp_path: Path
) -> None:
    chat = await desk.ingest("chat", InboundMessage("visitor-7", "Can you email me the invoice?"))
    assert chat is not None
    async with mail_channel(account, sink, tmp_path) as (channel, ctx):
        await client.handoff(
            chat.task.id,
            to_channel="mail",
            to_identity=CUSTOMER,
            message="Here is the invoice you asked for in the chat.",
        )
        await deliver_outbox(desk, channel, clock.now)
        [first] = our_mail(sink)
        sent = first.message
        assert "In-Reply-To" not in sent  # our mail starts the email conversation
        assert sent["Subject"].endswith(f"[#{chat.task.number}]")

        answer = customer_mail(
            "Got it, thanks.",
            subject="Re: " + sent["Subject"],
            in_reply_to=sent["Message-ID"],
            references=sent["Message-ID"],
        )
        await sink.send_as_customer(answer, SUPPORT)
        result = await receive(desk, ctx)
        assert result.task.id == chat.task.id
        assert result.customer.id == chat.customer.id
