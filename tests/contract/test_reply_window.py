"""A messaging window (WhatsApp's 24 hours): free text inside it, approved
templates outside it, and read receipts when an agent opens the task — on
every harness, so a console behind a hub gets the same answers."""

from __future__ import annotations

import asyncio

from agentdesk.api import ChannelStatus, ErrorCode
from agentdesk.domain import Message
from agentdesk.plugin import Capabilities, HealthState, ReplyTemplate

from .test_desk_client import expect

ORDER = ReplyTemplate(
    "order_update",
    "Hello {{1}}, about your order {{2}}: we have news. Reply to talk to us.",
    language="en",
    parameters=("name", "order"),
)
WA = Capabilities(
    kind="social",
    identity_kind="phone",
    read_receipts=True,
    reply_window_hours=24,
    templates=(ORDER,),
)


def with_whatsapp(harness) -> None:
    harness.desk.register_channel(ChannelStatus("wa", "test", WA, HealthState.UP))


async def test_free_text_inside_the_window_and_a_template_after_it(harness, clock):
    with_whatsapp(harness)
    ana = await harness.client("ana")
    task = await harness.write_in("+33612345678", "is my order late?", channel="wa")
    inside = await ana.reply(task.id, "Let me look")
    assert inside.template is None

    clock.advance(24 * 3600 + 60)
    refused = await expect(ErrorCode.CHANNEL_UNAVAILABLE, ana.reply(task.id, "Found it!"))
    assert "window closed" in refused.message and "template" in refused.message
    assert len(harness.desk.store.outbox()) == 1  # the refused reply queued nothing

    sent = await ana.reply(task.id, "", template="order_update", params=["Léa", "4471"])
    assert isinstance(sent, Message)
    assert sent.text == "Hello Léa, about your order 4471: we have news. Reply to talk to us."
    assert sent.template == "order_update" and sent.template_params == ["Léa", "4471"]
    entry = next(e for e in harness.desk.store.outbox() if e.key == sent.id)
    outbound = await harness.desk.outbound_for(entry)
    assert outbound.template == "order_update" and outbound.template_params == ("Léa", "4471")

    # The customer answers: the window opens again for free text.
    clock.advance(60)
    await harness.write_in("+33612345678", "thanks, what news?", channel="wa")
    assert (await ana.reply(task.id, "It ships today")).template is None


async def test_a_template_is_checked_before_anything_is_queued(harness, clock):
    with_whatsapp(harness)
    ana = await harness.client("ana")
    task = await harness.write_in("+33612345678", "hello", channel="wa")
    unknown = await expect(ErrorCode.INVALID, ana.reply(task.id, "", template="promo"))
    assert "order_update" in unknown.message  # names the templates there are
    short = await expect(
        ErrorCode.INVALID, ana.reply(task.id, "", template="order_update", params=["Léa"])
    )
    assert "name, order" in short.message
    blank = await expect(
        ErrorCode.INVALID, ana.reply(task.id, "", template="order_update", params=["Léa", " "])
    )
    assert "1 given" in blank.message
    assert harness.desk.store.outbox() == []


async def test_a_handoff_onto_a_window_channel_starts_with_a_template(harness, clock):
    with_whatsapp(harness)
    ana = await harness.client("ana")
    task = await harness.write_in("lea@example.com", "my order 4471?", channel="mail")
    refused = await expect(
        ErrorCode.CHANNEL_UNAVAILABLE,
        ana.handoff(task.id, to_channel="wa", to_identity="+33612345678", message="Hi Léa"),
    )
    assert "has not written here" in refused.message
    assert harness.desk.store.get_task(task.id).channel == "mail"  # nothing moved

    moved = await ana.handoff(
        task.id,
        to_channel="wa",
        to_identity="+33612345678",
        template="order_update",
        params=["Léa", "4471"],
    )
    assert moved.channel == "wa"
    [first] = [
        e
        for e in harness.desk.store.events_of_task(task.id)
        if isinstance(e, Message) and e.channel == "wa"
    ]
    assert first.template == "order_update" and "order 4471" in first.text


async def test_opening_an_unread_task_sends_a_read_receipt_for_what_is_unanswered(harness):
    with_whatsapp(harness)
    receipts: list[tuple[str, str, tuple[str, ...]]] = []

    async def gateway(channel: str, to: str, ids: tuple[str, ...]) -> None:
        receipts.append((channel, to, ids))

    harness.desk.set_read_gateway(gateway)
    ana = await harness.client("ana")
    task = await harness.write_in("+33612345678", "one", channel="wa", external_id="w1")
    await ana.reply(task.id, "answer")
    await harness.write_in("+33612345678", "two", channel="wa", external_id="w2")
    await harness.write_in("+33612345678", "three", channel="wa", external_id="w3")
    await ana.mark_read(task.id)
    await ana.mark_read(task.id)  # already read: nothing more is sent
    for _ in range(20):
        if receipts:
            break
        await asyncio.sleep(0.01)
    assert receipts == [("wa", "+33612345678", ("w2", "w3"))]

    mail = await harness.write_in("lea@example.com", "hi", channel="mail", external_id="<m1>")
    await ana.mark_read(mail.id)  # email has no read receipts
    assert len(receipts) == 1
