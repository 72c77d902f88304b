"""The WhatsApp channel's replies, templates, statuses, read marks and health,
against the local server that follows Meta's Cloud API."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agentdesk_whatsapp import WhatsAppChannel, sender
from servers.whatsapp_cloud import ACCESS_TOKEN, PHONE_NUMBER_ID, FakeCloudApi, SentMessage
from whatsapp_harness import CUSTOMER, channel_options, running, wait_until, whatsapp_desk

from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.domain import DeliveryState, Message
from agentdesk.plugin import (
    Channel,
    DeliveryError,
    DeliveryLedger,
    DeliveryReceipt,
    HealthState,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from agentdesk.plugin.contract import ContractSubject, run_contract
from agentdesk.plugin.testing import ChannelContract, MemoryState, RecordingContext

TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "text": "Hello {{1}}, your order {{2}} has shipped.",
        "parameters": ["customer name", "order number"],
    },
    {"name": "come_back", "language": "fr", "text": "Pouvons-nous vous aider ?"},
]


@pytest.fixture
async def meta() -> AsyncIterator[FakeCloudApi]:
    async with FakeCloudApi() as fake:
        fake.approve("order_update", "en_US", 2)
        fake.approve("come_back", "fr", 0)
        yield fake


# -- sending -----------------------------------------------------------------------------


async def test_a_reply_is_posted_as_the_cloud_api_expects(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        delivery = await wa.channel.send(
            wa.reply("Your parcel left today.", to="+33 6 12 34 56 78")
        )
        [request] = meta.sends()
        assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
        assert request.bearer == ACCESS_TOKEN
        assert request.body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"preview_url": False, "body": "Your parcel left today."},
            "biz_opaque_callback_data": "r1",
        }
        [sent] = meta.sent
        assert delivery.external_id == sent.wamid and delivery.state == "sent"


async def test_a_template_is_sent_with_its_language_and_parameters(meta: FakeCloudApi) -> None:
    async with running(meta, templates=TEMPLATES) as wa:
        outbound = wa.reply(
            "Hello Ana, your order 4471 has shipped.",
            template="order_update",
            template_params=("Ana", "4471"),
        )
        delivery = await wa.channel.send(outbound)
        await wa.channel.send(wa.reply("Pouvons-nous vous aider ?", key="r2", template="come_back"))
        first, second = (r.body for r in meta.sends())
        assert first == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ana"},
                            {"type": "text", "text": "4471"},
                        ],
                    }
                ],
            },
            "biz_opaque_callback_data": "r1",
        }
        assert second["template"] == {"name": "come_back", "language": {"code": "fr"}}
        assert delivery.detail == "template order_update (en_US)"
        assert delivery.external_id == meta.sent[0].wamid


@pytest.mark.parametrize(
    ("template", "params", "problem"),
    [
        ("unknown", (), "'unknown' is not one of this channel's templates"),
        ("order_update", ("Ana",), "takes 2 parameters (customer name, order number), got 1"),
        ("order_update", ("Ana", " "), "order number ({{2}}) is empty"),
        ("order_update", ("Ana\nLopez", "4471"), "line break"),
        ("order_update", ("Ana", "44     71"), "more than four spaces"),
    ],
)
async def test_a_template_that_cannot_be_sent_is_refused_before_meta(
    meta: FakeCloudApi, template: str, params: tuple[str, ...], problem: str
) -> None:
    async with running(meta, templates=TEMPLATES) as wa:
        with pytest.raises(PermanentDeliveryError, match=re.escape(problem)):
            await wa.channel.send(wa.reply("x", template=template, template_params=params))
        assert meta.sends() == []
        assert DeliveryLedger(wa.ctx.state).get("r1") is None


@pytest.mark.parametrize(
    ("to", "text", "problem"),
    [
        ("", "hi", "no WhatsApp number"),
        ("0612345678", "hi", "not a WhatsApp number"),
        ("ana@example.com", "hi", "not a WhatsApp number"),
        (CUSTOMER, "  \n ", "empty"),
        (CUSTOMER, "x" * 4097, "4097 characters; a WhatsApp message takes at most 4096"),
    ],
)
async def test_replies_that_cannot_be_a_whatsapp_message_are_refused(
    meta: FakeCloudApi, to: str, text: str, problem: str
) -> None:
    async with running(meta) as wa:
        with pytest.raises(PermanentDeliveryError, match=problem):
            await wa.channel.send(wa.reply(text, to=to))
        assert meta.sends() == []


@pytest.mark.parametrize(
    ("status", "code", "permanent", "sentence"),
    [
        (401, 190, True, "the access token was refused: it expired or was revoked"),
        (400, 131047, True, "the 24-hour window is closed: send a template (Meta 131047)"),
        (400, 131026, True, f"WhatsApp could not deliver to {CUSTOMER}: the number may not"),
        (400, 130429, False, "WhatsApp is limiting how fast we send; retrying later (Meta 130429)"),
        (400, 131056, False, "limiting how fast we send; retrying later (Meta 131056)"),
        (429, None, False, "limiting how fast we send; retrying later (HTTP 429)"),
        (500, None, False, "WhatsApp failed on its side; retrying later (HTTP 500)"),
        (503, 131016, False, "WhatsApp failed on its side; retrying later (Meta 131016)"),
        (403, 10, True, "may not send for this number"),
        (404, 132001, True, "the template does not exist at Meta in that language"),
        (400, 131030, True, "is not in the test number's list of allowed recipients"),
        (400, 100, True, "WhatsApp refused the message: Something odd (Meta 100)"),
    ],
)
async def test_meta_errors_become_typed_errors(
    meta: FakeCloudApi, status: int, code: int | None, permanent: bool, sentence: str
) -> None:
    async with running(meta) as wa:
        meta.fail_next(status, code, "Odd", details="Something odd")
        with pytest.raises(DeliveryError) as raised:
            await wa.channel.send(wa.reply())
        assert raised.value.temporary is not permanent
        assert sentence in str(raised.value)
        assert meta.sent == []
        # Refused for certain, or (a server error) maybe made: never both at once.
        record = DeliveryLedger(wa.ctx.state).get("r1")
        if status >= 500:
            assert record is not None and record.external_id is None
        else:
            assert record is None


async def test_a_refused_token_fails_the_reply_and_degrades_the_channel_until_it_works(
    meta: FakeCloudApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(meta) as wa:
        await wait_until(lambda: "Acme Support" in wa.channel.health().detail)
        meta.access_token = "rotated"
        with pytest.raises(PermanentDeliveryError, match="the access token was refused"):
            await wa.channel.send(wa.reply())
        assert wa.channel.health().state == HealthState.DEGRADED
        assert "access_token" in wa.channel.health().detail
        meta.access_token = ACCESS_TOKEN
        await wa.channel.send(wa.reply(key="r2"))
        assert wa.channel.health().state == HealthState.UP
    assert ACCESS_TOKEN not in caplog.text


async def test_a_token_refused_at_start_shows_as_degraded_with_the_reason(
    meta: FakeCloudApi,
) -> None:
    async with running(meta, access_token="expired-token") as wa:
        await wait_until(lambda: wa.channel.health().state == HealthState.DEGRADED)
        detail = wa.channel.health().detail
        assert detail.startswith("the access token was refused") and "(Meta 190)" in detail
        assert wa.ctx.last_health == wa.channel.health()


async def test_a_good_token_at_start_shows_the_number(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        await wait_until(lambda: "Acme Support" in wa.channel.health().detail)
        health = wa.channel.health()
        assert health.state == HealthState.UP
        assert health.detail.startswith("+1 555-078-3881 (Acme Support); webhook http://127.0.0.1")
    assert wa.channel.health().state == HealthState.STOPPED


async def test_a_phone_number_id_the_token_cannot_use_is_named(meta: FakeCloudApi) -> None:
    async with running(meta, phone_number_id="123456789") as wa:
        await wait_until(lambda: wa.channel.health().state == HealthState.DEGRADED)
        assert "phone_number_id 123456789 is not a number" in wa.channel.health().detail


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_api_is_a_temporary_failure(meta: FakeCloudApi) -> None:
    async with running(meta, api_base=f"http://127.0.0.1:{_closed_port()}") as wa:
        with pytest.raises(TemporaryDeliveryError, match="cannot be reached"):
            await wa.channel.send(wa.reply())
        assert DeliveryLedger(wa.ctx.state).get("r1") is None  # nothing was made
        await wait_until(lambda: wa.channel.health().state == HealthState.DEGRADED)
        assert "cannot be reached" in wa.channel.health().detail


async def test_a_send_before_start_waits_in_the_outbox(meta: FakeCloudApi) -> None:
    ctx = RecordingContext.for_channel(WhatsAppChannel, channel_options(meta), channel_name="wa")
    channel = WhatsAppChannel(ctx)
    outbound = Outbound(key="r1", to=CUSTOMER, text="hi", task_id="t", task_number=1)
    with pytest.raises(TemporaryDeliveryError, match="not running"):
        await channel.send(outbound)
    ctx.close()


# -- once per key ------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_sends_once(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        first = await wa.channel.send(wa.reply())
        again = await wa.channel.send(wa.reply())
        assert again.external_id == first.external_id and again.detail == "already sent"
        assert meta.count("r1") == 1 and len(meta.sends()) == 1


async def test_two_sends_of_one_key_at_once_send_once(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        meta.stall_next(0.2)
        first, second = await asyncio.gather(
            wa.channel.send(wa.reply()), wa.channel.send(wa.reply())
        )
        assert first.external_id == second.external_id
        assert meta.count("r1") == 1


async def test_a_restart_keeps_the_ledger(meta: FakeCloudApi) -> None:
    state = MemoryState()
    async with running(meta, state=state) as wa:
        first = await wa.channel.send(wa.reply())
    async with running(meta, state=state) as wa:
        asked = len(meta.requests)
        again = await wa.channel.send(wa.reply())
        assert again.external_id == first.external_id
        assert len(meta.requests) == asked and meta.count("r1") == 1


async def test_a_timeout_is_settled_by_the_status_naming_its_key(meta: FakeCloudApi) -> None:
    async with running(meta, timeout=0.3) as wa:
        meta.stall_next(1.0, after_create=True)
        with pytest.raises(TemporaryDeliveryError, match="did not answer in time"):
            await wa.channel.send(wa.reply())
        # Meta has it; the retry waits for its status rather than send again.
        with pytest.raises(TemporaryDeliveryError, match="waiting for its status"):
            await wa.channel.send(wa.reply())
        [made] = meta.sent
        await wa.post(meta.status(made, "sent"))
        await wait_until(lambda: DeliveryLedger(wa.ctx.state).get("r1").external_id is not None)
        asked = len(meta.sends())
        delivery = await wa.channel.send(wa.reply())
        assert delivery.external_id == made.wamid
        assert len(meta.sends()) == asked and meta.count("r1") == 1


async def test_a_timeout_that_made_nothing_is_sent_again_after_the_wait(
    meta: FakeCloudApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "STATUS_WAIT", 0.5)
    async with running(meta, timeout=0.3) as wa:
        meta.stall_next(0.6, after_create=False)
        with pytest.raises(TemporaryDeliveryError):
            await wa.channel.send(wa.reply())
        await asyncio.sleep(0.7)  # no status came: Meta never took it
        delivery = await wa.channel.send(wa.reply())
        assert meta.count("r1") == 1
        assert delivery.external_id == meta.sent[0].wamid


async def test_a_timeout_then_a_restart_still_waits_for_the_status(meta: FakeCloudApi) -> None:
    state = MemoryState()
    async with running(meta, state=state, timeout=0.3) as wa:
        meta.stall_next(1.0, after_create=True)
        with pytest.raises(TemporaryDeliveryError):
            await wa.channel.send(wa.reply())
    async with running(meta, state=state) as wa:
        with pytest.raises(TemporaryDeliveryError, match="waiting for its status"):
            await wa.channel.send(wa.reply())
        await wa.post(meta.status(meta.sent[0], "delivered"))
        assert await wa.next() == DeliveryReceipt(key="r1", state="delivered")
        assert (await wa.channel.send(wa.reply())).external_id == meta.sent[0].wamid
        assert meta.count("r1") == 1


# -- statuses ----------------------------------------------------------------------------


async def test_statuses_become_delivery_receipts(
    meta: FakeCloudApi, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(meta) as wa:
        await wa.channel.send(wa.reply(key="r1"))
        await wa.channel.send(wa.reply("Second", key="r2"))
        first, second = meta.sent
        assert (await wa.post(meta.status(first, "sent"))).status_code == 200
        await wa.post(meta.status(first, "delivered"))
        assert await wa.next() == DeliveryReceipt(key="r1", state="delivered")
        await wa.post(meta.status(first, "read", echo_key=False))  # found by its wamid
        assert await wa.next() == DeliveryReceipt(key="r1", state="read")
        error = {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours"},
        }
        await wa.post(meta.status(second, "failed", errors=[error]))
        forged = await wa.post(meta.status(first, "read"), signature="sha256=" + "ab" * 32)
        assert forged.status_code == 403
        await wa.settle()
        assert wa.ctx.pending_inbound() == 0
    assert (
        "reply r2 was not delivered: the 24-hour window is closed: send a template" in caplog.text
    )


async def test_a_status_of_a_message_that_is_not_ours_changes_nothing(
    meta: FakeCloudApi,
) -> None:
    async with running(meta) as wa:
        await wa.channel.send(wa.reply())
        stranger = SentMessage("wamid.sent-by-another-app", CUSTOMER, "text", {})
        await wa.post(meta.status(stranger, "delivered"))
        forged_key = SentMessage("wamid.other", CUSTOMER, "text", {"biz_opaque_callback_data": "x"})
        await wa.post(meta.status(forged_key, "delivered"))
        await wa.settle()
        assert wa.ctx.emitted == []


async def test_a_reply_through_the_desk_is_delivered_and_read(
    meta: FakeCloudApi, desk: Desk, client: LocalDeskClient, clock: Any
) -> None:
    async with running(meta) as wa:
        whatsapp_desk(desk, wa.channel)
        await wa.text_in("Hello, any news?")
        task = (await desk.ingest("wa", await wa.next_message())).task
        await client.reply(task.id, "It arrives tomorrow.")
        [entry] = desk.outbox_due(clock.now)
        outbound = await desk.outbound_for(entry)
        assert outbound.to == CUSTOMER
        delivery = await wa.channel.send(outbound)
        await desk.delivery_succeeded(entry, delivery)
        [made] = meta.sent
        assert made.key == entry.key and made.text == "It arrives tomorrow."
        await wa.post(meta.status(made, "delivered"))
        await desk.ingest("wa", await wa.next())
        reply = desk.store.get_event(entry.key)
        assert isinstance(reply, Message)
        assert reply.delivery == DeliveryState.DELIVERED and reply.external_id == made.wamid


# -- read marks --------------------------------------------------------------------------


async def test_opening_the_conversation_marks_the_latest_message_read(
    meta: FakeCloudApi,
) -> None:
    async with running(meta) as wa:
        await wa.channel.mark_read(CUSTOMER, ("wamid.first", "wamid.second"))
        [request] = [r for r in meta.requests if r.method == "POST"]
        assert request.body == {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.second",
        }
        assert request.bearer == ACCESS_TOKEN
        assert meta.reads == ["wamid.second"]
        await wa.channel.mark_read(CUSTOMER, ())
        assert meta.reads == ["wamid.second"]
        meta.fail_next(500)
        with pytest.raises(TemporaryDeliveryError):
            await wa.channel.mark_read(CUSTOMER, ("wamid.third",))


# -- the conformance kit -----------------------------------------------------------------


class TestWhatsAppContract(ChannelContract):
    channel_class = WhatsAppChannel
    channel_name = "whatsapp"
    send_to = CUSTOMER
    options: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    async def _fake_meta(self, meta: FakeCloudApi) -> AsyncIterator[None]:
        self.meta = meta
        self.options = channel_options(meta)
        yield

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        assert isinstance(channel, WhatsAppChannel)
        url = ctx.url(channel.webhook_path)
        response = await self.meta.post(url, self.meta.text(CUSTOMER, "Contract hello"))
        assert response.status_code == 200

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        return self.meta.count(outbound.key)


async def test_the_contract_runner_passes_with_the_channels_own_sample_webhook(
    meta: FakeCloudApi,
) -> None:
    """As ``agentdesk plugins check whatsapp --send-to ...`` runs it: inbound
    comes from the channel's signed sample webhook."""

    async def address(channel: Channel, ctx: RecordingContext) -> str:
        return CUSTOMER

    async def count(channel: Channel, ctx: RecordingContext, outbound: Outbound) -> int:
        return meta.count(outbound.key)

    subject = ContractSubject(
        WhatsAppChannel,
        channel_options(meta),
        channel_name="whatsapp",
        send_address=address,
        count_deliveries=count,
    )
    report = await run_contract(subject)
    assert report.passed, [(r.name, r.detail) for r in report.failures]
    assert {r.outcome for r in report.results} == {"passed"}
