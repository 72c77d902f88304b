"""A Matrix conversation handed off to email keeps its task and its history:
the desk with the matrix channel's declared kind and capabilities, the real
email channel, and our IMAP and SMTP servers."""

from __future__ import annotations

from agentdesk_matrix import MatrixChannel
from servers.email_mail import CUSTOMER, SUPPORT, customer_mail
from servers.imap_server import ImapAccount
from servers.smtp_server import SmtpSink
from test_email_desk import deliver_outbox, mail_channel, our_mail, receive

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import Handoff, Message
from agentdesk.plugin import Delivery, HealthState, InboundMessage

pytest_plugins = ["servers.email_fixtures"]


async def test_matrix_to_email_keeps_the_task_and_its_history(
    desk: Desk, client: LocalDeskClient, clock, account: ImapAccount, sink: SmtpSink, tmp_path
) -> None:
    desk.declare_identity_kinds(MatrixChannel.identity_kinds)
    desk.register_channel(ChannelStatus("mx", "matrix", MatrixChannel.capabilities, HealthState.UP))
    said = InboundMessage("@ann:example.org", "Can you send me the invoice by mail?", "$e1")
    first = await desk.ingest("mx", said)
    await client.reply(first.task.id, "Of course.")
    [on_matrix] = desk.outbox_due(clock.now)
    await desk.delivery_succeeded(on_matrix, Delivery(external_id="$reply"))  # as matrix would
    async with mail_channel(account, sink, tmp_path) as (channel, ctx):
        await client.handoff(
            first.task.id, to_channel="mail", to_identity=CUSTOMER, message="Here it is."
        )
        await deliver_outbox(desk, channel, clock.now)
        [mail] = [m.message for m in our_mail(sink)]
        assert mail["Subject"].endswith(f"[#{first.task.number}]")
        answer = customer_mail(
            "Got it, thanks.", subject="Re: " + mail["Subject"], in_reply_to=mail["Message-ID"]
        )
        await sink.send_as_customer(answer, SUPPORT)
        back = await receive(desk, ctx)
    assert back.task.id == first.task.id and back.customer.id == first.customer.id
    events = desk.store.events_of_task(first.task.id)
    channels = [e.channel for e in events if isinstance(e, Message)]
    assert channels[:2] == ["mx", "mx"] and channels[-2:] == ["mail", "mail"]
    [handoff] = [e for e in events if isinstance(e, Handoff)]
    assert (handoff.from_channel, handoff.to_channel) == ("mx", "mail")
    kinds = {i.kind for i in desk.store.get_customer(first.customer.id).identities}
    assert kinds == {"matrix", "email"}
