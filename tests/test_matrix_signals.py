"""The matrix channel against a real Synapse: typing and read receipts both
ways, edits and deletions, and files (stored, or listed when too large)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from matrix_harness import Running, customer_of, reply, running
from servers.matrix_customer import Customer

from agentdesk.plugin import DeliveryReceipt, InboundMessage, TypingSignal

if TYPE_CHECKING:
    from servers.synapse import Account, Synapse

pytest_plugins = ["servers.synapse"]


@pytest.fixture
def bot(synapse: Synapse) -> Account:
    return synapse.register("support")


@pytest.fixture
async def customer(synapse: Synapse) -> AsyncIterator[Customer]:
    async with customer_of(synapse) as made:
        yield made


async def conversation(mx: Running, customer: Customer) -> tuple[str, InboundMessage]:
    """A direct room the customer opened and wrote in, as the channel saw it."""
    room = await customer.open_direct(mx.bot.user_id)
    await customer.say(room, "Hello")
    return room, await mx.next()


# -- typing ----------------------------------------------------------------------------


async def test_the_customer_typing_shows_on_the_desk(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room, _ = await conversation(mx, customer)
        await customer.typing(room, True)
        assert await mx.next(TypingSignal) == TypingSignal(customer.user_id, True)
        await customer.typing(room, False)
        assert await mx.next(TypingSignal) == TypingSignal(customer.user_id, False)


async def test_an_agent_typing_shows_in_the_customers_client(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room, _ = await conversation(mx, customer)
        await customer.sync_once()
        await mx.channel.send_typing(customer.user_id, True)
        await customer.wait_for(
            lambda c: any(bot.user_id in users for users in c.typing_users(room)),
            what="the bot typing",
        )
        await mx.channel.send_typing(customer.user_id, False)
        await customer.wait_for(
            lambda c: c.typing_users(room) and bot.user_id not in c.typing_users(room)[-1],
            what="the bot no longer typing",
        )
        # No room, no typing: a customer the bot never talked to is not disturbed.
        await mx.channel.send_typing("@stranger:localhost", True)


# -- read receipts ---------------------------------------------------------------------


async def test_the_customer_reading_a_reply_marks_it_and_those_before_read(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room, _ = await conversation(mx, customer)
        first = await mx.channel.send(reply(customer.user_id, "one", key="k1"))
        second = await mx.channel.send(reply(customer.user_id, "two", key="k2"))
        assert first.external_id and second.external_id
        # Their client marks the latest reply: Matrix receipts mean "read up to here".
        await customer.read(room, second.external_id)
        got = {(await mx.next(DeliveryReceipt)).key, (await mx.next(DeliveryReceipt)).key}
        assert got == {"k1", "k2"}
        assert all(r.state == "read" for r in mx.emitted(DeliveryReceipt))
        await customer.read(room, first.external_id)  # older: nothing new
        third = await mx.channel.send(reply(customer.user_id, "three", key="k3"))
        # A receipt on the customer's own later message covers the replies before it.
        answer = await customer.say(room, "ok thanks")
        await mx.next()
        await customer.read(room, answer)
        assert (await mx.next(DeliveryReceipt)).key == "k3"
        await asyncio.sleep(0.5)
        assert [r.key for r in mx.emitted(DeliveryReceipt)].count("k1") == 1
        assert third.external_id


async def test_an_agent_reading_shows_in_the_customers_client(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room, message = await conversation(mx, customer)
        later = await customer.say(room, "Are you there?")
        await mx.next()
        assert message.external_id is not None
        await mx.channel.mark_read(customer.user_id, (message.external_id, later))
        await customer.wait_for(
            lambda c: later in c.read_by(room, bot.user_id), what="the bot's read receipt"
        )


# -- edits and deletions ---------------------------------------------------------------


async def test_an_edit_and_a_deletion_show_on_the_timeline(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        original = await customer.say(room, "The sofa is blue")
        edit = await customer.edit(room, original, "The sofa is green")
        gone = await customer.say(room, "my card number is 4111...")
        redaction = await customer.redact(room, gone)
        said, edited, deleted_one, deleted = await mx.messages(4)
        assert said.text == "The sofa is blue"
        assert edited.text == "✎ edited: The sofa is green"
        assert (edited.external_id, edited.thread_ref) == (edit, original)
        assert edited.attributes == {}  # nothing of it lands on the customer's card
        # The deleted message came first (what the customer wrote is on the desk)...
        assert deleted_one.external_id == gone
        # ...then its deletion, said as such, pointing at it.
        assert deleted.text == "(the customer deleted a message)"
        assert deleted.external_id == redaction
        assert deleted.thread_ref == gone and deleted.attributes == {}


# -- files -----------------------------------------------------------------------------


async def test_a_small_file_is_stored_with_its_name_and_type(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        pdf = b"%PDF-1.7 invoice 4471" * 10
        await customer.send_file(room, pdf, "application/pdf", "../../invoice 4471.pdf")
        photo = b"\x89PNG\r\n" + b"p" * 300
        await customer.send_file(room, photo, "image/png", "sofa.png", "m.image")
        document, picture = await mx.messages(2)
        [attachment] = document.attachments
        assert (attachment.name, attachment.content_type) == (
            "../../invoice 4471.pdf",
            "application/pdf",
        )
        assert attachment.size == len(pdf) and attachment.path
        stored = Path(attachment.path)
        assert stored.read_bytes() == pdf
        # The customer's name for it never leaves the channel's folder.
        assert stored.is_relative_to(mx.ctx.data_dir / "media") and ".." not in stored.parts
        assert document.text == ""
        [image] = picture.attachments
        assert image.content_type == "image/png" and Path(image.path or "").read_bytes() == photo


async def test_a_file_over_the_cap_is_listed_not_stored(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot, max_media_mb=0.001) as mx:
        room = await customer.open_direct(bot.user_id)
        big = b"v" * 5000
        await customer.send_file(room, big, "video/mp4", "unboxing.mp4", "m.video")
        # A client that does not say the size: the download stops at the cap.
        mxc = await customer.upload(big, "application/zip", "photos.zip")
        await customer.send(room, {"msgtype": "m.file", "body": "photos.zip", "url": mxc})
        announced, unannounced = await mx.messages(2)
        for message, name in ((announced, "unboxing.mp4"), (unannounced, "photos.zip")):
            [attachment] = message.attachments
            assert (attachment.name, attachment.path) == (name, None)
            assert attachment.size >= 1025
            assert f"{name}: " in message.text and "over the 1 KB limit; not stored" in message.text
        assert not list((mx.ctx.data_dir / "media").rglob("*"))


async def test_a_file_without_a_link_is_said_in_the_text(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.send(room, {"msgtype": "m.file", "body": "secret.pdf", "file": {"v": "v2"}})
        message = await mx.next()
        assert message.text == "(a file the desk cannot fetch, encrypted: secret.pdf)"
        assert message.attachments == ()
