"""A chat handed off to WhatsApp: the first message there must be an approved
template (the customer has not opened a window), it reaches Meta as one, and
the customer's answer lands on the same task and opens the window for free
text. The desk, the real channel, our Cloud API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servers.whatsapp_cloud import FakeCloudApi
from whatsapp_harness import CUSTOMER, running, whatsapp_desk

from agentdesk.api import DeskError, ErrorCode
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import Message
from agentdesk.plugin import InboundMessage

TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "text": "Hello {{1}}, about your order {{2}}: reply here to go on.",
        "parameters": ["customer name", "order number"],
    }
]


@pytest.fixture
async def meta() -> AsyncIterator[FakeCloudApi]:
    async with FakeCloudApi() as fake:
        fake.approve("order_update", "en_US", 2)
        yield fake


async def send_due(desk: Desk, wa, now: float) -> None:
    for entry in desk.outbox_due(now):
        await desk.delivery_succeeded(entry, await wa.channel.send(await desk.outbound_for(entry)))


async def test_chat_to_whatsapp_starts_with_a_template(
    desk: Desk, client: LocalDeskClient, clock, meta: FakeCloudApi
) -> None:
    chat = await desk.ingest("chat", InboundMessage("visitor-9", "Text me on WhatsApp please"))
    async with running(meta, templates=TEMPLATES) as wa:
        whatsapp_desk(desk, wa.channel)
        with pytest.raises(DeskError) as refused:
            await client.handoff(
                chat.task.id, to_channel="wa", to_identity=f"+{CUSTOMER}", message="Hi there"
            )
        assert refused.value.code == ErrorCode.CHANNEL_UNAVAILABLE
        assert "send a template" in refused.value.message
        moved = await client.handoff(
            chat.task.id,
            to_channel="wa",
            to_identity=f"+{CUSTOMER}",
            template="order_update",
            params=["Ana", "4471"],
        )
        assert moved.id == chat.task.id and moved.channel == "wa"
        await send_due(desk, wa, clock.now)
        [sent] = meta.sends()
        assert sent.body["type"] == "template"
        assert sent.body["template"]["name"] == "order_update"

        # The customer answers on WhatsApp: the same task, its history kept.
        await wa.text_in("Yes, where is it?")
        item = await wa.next_message()
        answer = await desk.ingest("wa", item)
        assert answer.task.id == chat.task.id
        kinds = [
            e.channel for e in desk.store.events_of_task(chat.task.id) if isinstance(e, Message)
        ]
        assert kinds[0] == "chat" and kinds[-1] == "wa"
        reply = await client.reply(chat.task.id, "It arrives tomorrow.")  # the window is open
        await send_due(desk, wa, clock.now)
        assert meta.sends()[-1].body["type"] == "text"
        assert reply.template is None
