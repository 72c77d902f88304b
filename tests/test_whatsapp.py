"""The WhatsApp channel's webhook and inbound messages, against a local server
that follows Meta's Cloud API and signs its notifications as Meta does."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentdesk_whatsapp import WhatsAppChannel
from agentdesk_whatsapp.signature import is_valid, sign
from servers.whatsapp_cloud import (
    APP_SECRET,
    VERIFY_TOKEN,
    FakeCloudApi,
    meta_signature,
    new_wamid,
)
from whatsapp_harness import CUSTOMER, GatedContext, running, whatsapp_desk

from agentdesk.core.desk import Desk
from agentdesk.plugin.testing import MemoryState


@pytest.fixture
async def meta() -> AsyncIterator[FakeCloudApi]:
    async with FakeCloudApi() as fake:
        yield fake


# -- signatures ------------------------------------------------------------------------


def test_the_signature_is_metas_hmac_sha256_of_the_raw_body() -> None:
    # The vector of a published client library: HMAC-SHA256("test") keyed "secret".
    assert sign("secret", b"test") == (
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    )
    body = '{"object":"whatsapp_business_account","é":"ü"}'.encode()
    assert sign(APP_SECRET, body) == meta_signature(APP_SECRET, body)
    good = sign(APP_SECRET, body)
    assert is_valid(APP_SECRET, body, good)
    assert is_valid(APP_SECRET, body, "SHA256=" + good[7:].upper())
    assert not is_valid(APP_SECRET, body + b" ", good)
    assert not is_valid("another-secret", body, good)
    assert not is_valid(APP_SECRET, body, good[7:])  # without its sha256= prefix
    assert not is_valid(APP_SECRET, body, None) and not is_valid(APP_SECRET, body, "")
    assert not is_valid(APP_SECRET, body, "sha256=zz€")


async def test_meta_verifies_the_callback_url_with_the_verify_token(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        answer = await meta.verify(wa.webhook_url, VERIFY_TOKEN, challenge="1158201444")
        assert answer.status_code == 200 and answer.text == "1158201444"
        assert answer.headers["content-type"].startswith("text/plain")
        wrong = await meta.verify(wa.webhook_url, "not-the-token")
        assert wrong.status_code == 403 and "1158201444" not in wrong.text
        other = await meta.verify(wa.webhook_url, VERIFY_TOKEN, mode="unsubscribe")
        assert other.status_code == 403
        empty = await meta.verify(wa.webhook_url, VERIFY_TOKEN, challenge="")
        assert empty.status_code == 400


async def test_a_signed_notification_is_answered_at_once_and_handed_on(
    meta: FakeCloudApi,
) -> None:
    async with running(meta) as wa:
        response = await wa.post(meta.text(CUSTOMER, "Where is my parcel?"))
        assert response.status_code == 200
        assert (await wa.next_message()).text == "Where is my parcel?"


@pytest.mark.parametrize(
    ("how", "status"),
    [("missing", 401), ("invalid", 403), ("tampered", 403), ("other secret", 403)],
)
async def test_an_unsigned_or_tampered_notification_is_refused_and_not_logged(
    meta: FakeCloudApi, caplog: pytest.LogCaptureFixture, how: str, status: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentdesk.channel.wa")
    secret_words = "my card number is 4970 1234"
    async with running(meta) as wa:
        payload = meta.text(CUSTOMER, secret_words)
        if how == "missing":
            response = await wa.post(payload, signature=None)
        elif how == "invalid":
            response = await wa.post(payload, signature="sha256=" + "0" * 64)
        elif how == "tampered":
            response = await wa.post(payload, tamper=True)
        else:
            raw = json.dumps(payload).encode()
            response = await wa.post(payload, raw=raw, signature=meta_signature("other", raw))
        assert response.status_code == status
        await asyncio.sleep(0.2)
        assert wa.ctx.emitted == []
        assert not list((wa.ctx.data_dir / "spool").glob("*.json"))
    refusals = [r.getMessage() for r in caplog.records if "refused POST" in r.getMessage()]
    assert len(refusals) == 1
    assert ("no X-Hub-Signature-256" if how == "missing" else "invalid") in refusals[0]
    assert secret_words not in caplog.text and CUSTOMER not in caplog.text


async def test_the_signature_is_checked_before_the_body_is_read_as_json(
    meta: FakeCloudApi, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(meta) as wa:
        garbage = b"{not json at all"
        unsigned = await wa.post({}, raw=garbage, signature="sha256=" + "1" * 64)
        assert unsigned.status_code == 403  # refused as unsigned, never parsed
        signed = await wa.post({}, raw=garbage)
        assert signed.status_code == 400 and "not JSON" in signed.text
        not_whatsapp = await wa.post({"object": "page", "entry": []})
        assert not_whatsapp.status_code == 400
    assert "not understood" in caplog.text


async def test_a_request_too_large_is_refused(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        huge = b"x" * (3 * 1024 * 1024 + 1)
        response = await wa.post({}, raw=huge)
        assert response.status_code == 413
        assert wa.ctx.emitted == []


async def test_a_notification_for_another_number_of_the_app_is_left_alone(
    meta: FakeCloudApi,
) -> None:
    async with running(meta) as wa:
        response = await wa.post(meta.text(CUSTOMER, "for the sales line", phone_number_id="999"))
        assert response.status_code == 200
        await wa.settle()
        assert wa.ctx.emitted == []


# -- inbound messages --------------------------------------------------------------------


async def test_a_text_arrives_with_the_customers_name_and_id(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        wamid = new_wamid()
        sent_at = int(time.time()) - 30
        payload = meta.text(CUSTOMER, "Bonjour, où est mon colis ?", name="Ana Lopez", wamid=wamid)
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(sent_at)
        await wa.post(payload)
        message = await wa.next_message()
        assert message.identity == CUSTOMER
        assert message.text == "Bonjour, où est mon colis ?"
        assert message.customer_name == "Ana Lopez"
        assert message.external_id == wamid
        assert message.at == sent_at
        assert message.attachments == () and message.thread_ref is None
        assert message.other_identities == (("phone", f"+{CUSTOMER}"),)


async def test_an_image_is_fetched_with_the_token_and_kept(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        photo = b"\xff\xd8\xff\xe0 jpeg bytes of a broken lamp"
        media_id = meta.add_media("image/jpeg", photo)
        await wa.post(
            meta.media_message(CUSTOMER, "image", media_id, "image/jpeg", caption="It broke")
        )
        message = await wa.next_message()
        assert message.text == "It broke"
        [attachment] = message.attachments
        assert (attachment.name, attachment.content_type, attachment.size) == (
            "image-1.jpg",
            "image/jpeg",
            len(photo),
        )
        assert attachment.path and Path(attachment.path).read_bytes() == photo
        assert Path(attachment.path).is_relative_to(wa.ctx.data_dir / "media")
        info, download = [r for r in meta.requests if media_id in r.path or "attach" in r.path]
        assert info.path == f"/v21.0/{media_id}" and info.bearer == meta.access_token
        assert download.bearer == meta.access_token


async def test_a_media_url_refuses_a_request_without_the_token(meta: FakeCloudApi) -> None:
    media_id = meta.add_media("image/png", b"png")
    async with httpx.AsyncClient() as client:
        info = await client.get(
            f"{meta.url}/v21.0/{media_id}", headers={"Authorization": f"Bearer {meta.access_token}"}
        )
        url = info.json()["url"]
        assert (await client.get(url)).status_code == 401
        assert (await client.get(url, headers={"Authorization": "Bearer x"})).status_code == 401


@pytest.mark.parametrize(
    ("kind", "mime", "extra", "name", "text"),
    [
        (
            "document",
            "application/pdf",
            {"filename": "invoice 4471.pdf", "caption": "Invoice"},
            "invoice 4471.pdf",
            "Invoice",
        ),
        ("document", "application/pdf", {"filename": "../../etc/passwd"}, "etc_passwd", ""),
        ("audio", "audio/ogg; codecs=opus", {"voice": True}, "voice-1.ogg", ""),
        ("audio", "audio/mpeg", {}, "audio-1.mp3", ""),
        ("video", "video/mp4", {"caption": "see?"}, "video-1.mp4", "see?"),
        ("sticker", "image/webp", {"animated": False}, "sticker-1.webp", ""),
    ],
)
async def test_every_kind_of_media_becomes_an_attachment(
    meta: FakeCloudApi, kind: str, mime: str, extra: dict[str, Any], name: str, text: str
) -> None:
    async with running(meta) as wa:
        data = f"{kind} bytes".encode()
        media_id = meta.add_media(mime.split(";")[0], data)
        await wa.post(meta.media_message(CUSTOMER, kind, media_id, mime, **extra))
        message = await wa.next_message()
        assert message.text == text
        [attachment] = message.attachments
        assert attachment.name == name
        assert attachment.content_type == mime.split(";")[0]
        assert attachment.path is not None
        stored = Path(attachment.path)
        assert stored.read_bytes() == data and stored.parent.parent == wa.ctx.data_dir / "media"
        assert stored.name.startswith(("voice-1", f"{kind}-1"))  # never the customer's name


@pytest.mark.parametrize("told", [True, False], ids=["size-told", "size-streamed"])
async def test_media_over_the_cap_are_named_in_the_text_not_stored(
    meta: FakeCloudApi, told: bool
) -> None:
    meta.tells_size = told
    async with running(meta, max_media_bytes=1024 * 1024) as wa:
        media_id = meta.add_media("video/mp4", b"v" * 2_500_000)
        await wa.post(meta.media_message(CUSTOMER, "video", media_id, "video/mp4", caption="x"))
        message = await wa.next_message()
        assert message.attachments == ()
        # Told the size, the channel never starts the download; else it stops at the cap.
        shown = "2.4 MB" if told else "1.0 MB"
        assert message.text == (
            f"x\n[video ({shown}): not downloaded, larger than the channel's 1.0 MB limit]"
        )
        downloads = [r for r in meta.requests if "attachments" in r.path]
        assert len(downloads) == (0 if told else 1)
        assert not list((wa.ctx.data_dir / "media").rglob("video-*"))


async def test_media_that_cannot_be_fetched_say_so(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        await wa.post(meta.media_message(CUSTOMER, "image", "424242", "image/jpeg"))
        message = await wa.next_message()
        assert message.text == "[image: could not be downloaded from WhatsApp]"
        assert message.attachments == ()


async def test_downloads_can_be_turned_off(meta: FakeCloudApi) -> None:
    async with running(meta, max_media_bytes=0) as wa:
        media_id = meta.add_media("image/jpeg", b"jpeg")
        await wa.post(meta.media_message(CUSTOMER, "image", media_id, "image/jpeg"))
        message = await wa.next_message()
        assert message.text == "[image: not downloaded (the channel downloads no media)]"
        assert not [r for r in meta.requests if media_id in r.path or "attach" in r.path]


async def test_a_location_reads_as_a_line(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        place = {
            "latitude": 48.858370,
            "longitude": 2.294481,
            "name": "Tour Eiffel",
            "address": "Champ de Mars, 75007 Paris",
        }
        await wa.post(meta.message(CUSTOMER, "location", place))
        assert (await wa.next_message()).text == (
            "📍 Location: Tour Eiffel, Champ de Mars, 75007 Paris (48.85837, 2.294481)"
        )
        await wa.post(meta.message(CUSTOMER, "location", {"latitude": -33.5, "longitude": 151}))
        assert (await wa.next_message()).text == "📍 Location: (-33.5, 151)"


async def test_contact_cards_read_as_lines(meta: FakeCloudApi) -> None:
    cards = [
        {
            "name": {"formatted_name": "Marc Dupont", "first_name": "Marc"},
            "phones": [{"phone": "+33 6 98 76 54 32", "wa_id": "33698765432", "type": "CELL"}],
            "emails": [{"email": "marc@example.fr", "type": "WORK"}],
            "org": {"company": "Dupont SARL"},
        },
        {"name": {"first_name": "Léa", "last_name": "Martin"}},
    ]
    async with running(meta) as wa:
        await wa.post(meta.message(CUSTOMER, "contacts", cards))
        assert (await wa.next_message()).text == (
            "👤 Contact: Marc Dupont, +33 6 98 76 54 32, marc@example.fr, Dupont SARL\n"
            "👤 Contact: Léa Martin"
        )


@pytest.mark.parametrize(
    ("kind", "content", "text"),
    [
        ("button", {"payload": "track", "text": "Track my order"}, "Track my order"),
        (
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {"id": "1", "title": "Refund", "description": "money back"},
            },
            "Refund\nmoney back",
        ),
        (
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}},
            "Yes",
        ),
        ("reaction", {"message_id": "wamid.ours", "emoji": "👍"}, "(reacted 👍 to a message)"),
        ("unsupported", {}, "[a unsupported message the desk cannot show: Message type unknown]"),
    ],
)
async def test_other_messages_read_as_what_the_customer_did(
    meta: FakeCloudApi, kind: str, content: dict[str, Any], text: str
) -> None:
    async with running(meta) as wa:
        payload = meta.message(CUSTOMER, kind, content)
        if kind == "unsupported":
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            message["errors"] = [{"code": 131051, "title": "Message type unknown"}]
        await wa.post(payload)
        assert (await wa.next_message()).text == text


async def test_a_quoted_reply_threads_onto_the_quoted_message(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        await wa.post(meta.text(CUSTOMER, "Yes, that one", context="wamid.our-reply"))
        assert (await wa.next_message()).thread_ref == "wamid.our-reply"


async def test_a_notification_delivered_twice_makes_one_message(
    meta: FakeCloudApi, desk: Desk
) -> None:
    state = MemoryState()
    payload = meta.text(CUSTOMER, "Is it shipped?")
    async with running(meta, state=state) as wa:
        whatsapp_desk(desk, wa.channel)
        first = await wa.post(payload)
        again = await wa.post(payload)  # Meta retries when an answer is late
        assert first.status_code == again.status_code == 200
        await desk.ingest("wa", await wa.next_message())
        await wa.settle()
        assert len(wa.ctx.emitted) == 1
    # A restarted channel has forgotten it; the desk drops it by its wamid.
    async with running(meta, state=state) as wa:
        await wa.post(payload)
        result = await desk.ingest("wa", await wa.next_message())
        assert result.duplicate
        assert len(list(desk.store.events_of_task(result.task.id))) == 1


async def test_the_webhook_never_waits_for_the_desk(meta: FakeCloudApi) -> None:
    async with running(meta, context_class=GatedContext) as wa:
        began = time.monotonic()
        await wa.text_in("hello?")
        assert time.monotonic() - began < 1.0
        assert wa.ctx.emitted == []
        wa.ctx.gate.set()  # type: ignore[attr-defined]
        assert (await wa.next_message()).text == "hello?"


async def test_a_message_answered_but_not_stored_comes_back_after_a_crash(
    meta: FakeCloudApi, tmp_path: Path
) -> None:
    state = MemoryState()
    wamid = new_wamid()
    async with running(meta, state=state, data_dir=tmp_path, context_class=GatedContext) as wa:
        await wa.text_in("Please call me back", wamid=wamid)
        assert wa.ctx.emitted == []
    async with running(meta, state=state, data_dir=tmp_path) as wa:
        message = await wa.next_message()
        assert message.external_id == wamid and message.text == "Please call me back"
        await wa.settle()
        assert not list((tmp_path / "spool").glob("*.json"))


async def test_a_notification_that_cannot_be_kept_is_refused_for_meta_to_retry(
    meta: FakeCloudApi, tmp_path: Path
) -> None:
    (tmp_path / "spool").write_text("a file where the spool folder goes")
    payload = meta.text(CUSTOMER, "Anyone there?")
    async with running(meta, data_dir=tmp_path) as wa:
        refused = await wa.post(payload)
        assert refused.status_code == 503
        (tmp_path / "spool").unlink()
        assert (await wa.post(payload)).status_code == 200  # Meta's retry
        assert (await wa.next_message()).text == "Anyone there?"
        await wa.settle()
        assert len(wa.ctx.emitted) == 1


async def test_hostile_text_is_cleaned_by_the_desk(meta: FakeCloudApi, desk: Desk) -> None:
    async with running(meta) as wa:
        whatsapp_desk(desk, wa.channel)
        hostile = "Hello\x1b[2J\x1b]0;owned\x07 world\x00\x08\u202e!"
        await wa.post(meta.text(CUSTOMER, hostile, name="Ana\x1b[31m Lopez\x07"))
        message = await wa.next_message()
        result = await desk.ingest("wa", message)
        assert result.event.text == "Hello world!"
        assert "\x1b" not in result.customer.name and "\x07" not in result.customer.name
        place = {"latitude": 1.5, "longitude": 2.5, "name": "Shop\x1b[5m", "address": "\x9b0mRue"}
        await wa.post(meta.message(CUSTOMER, "location", place))
        stored = await desk.ingest("wa", await wa.next_message())
        assert stored.event.text == "📍 Location: Shop, Rue (1.5, 2.5)"
        assert stored.event.identity == f"whatsapp:{CUSTOMER}"


async def test_the_sample_webhook_is_signed_and_accepted(meta: FakeCloudApi) -> None:
    async with running(meta) as wa:
        sample = wa.channel.sample_webhook
        assert sample.path == "/webhook"
        assert is_valid(APP_SECRET, sample.body.encode(), sample.headers["X-Hub-Signature-256"])
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                wa.webhook_url,
                content=sample.body.encode(),
                headers={"content-type": sample.content_type, **sample.headers},
            )
        assert answer.status_code == 200
        assert (await wa.next_message()).text == "Hello from agentdesk plugins check"


def test_the_channel_is_found_in_the_plugin_folder() -> None:
    from agentdesk.core.host.discovery import discover

    catalog = discover(entry_points=None)
    assert catalog.channels["whatsapp"] is WhatsAppChannel
