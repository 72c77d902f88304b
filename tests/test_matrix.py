"""The matrix channel against a real Synapse on loopback: invites, messages in
and out, idempotent sends, restarts, options, and the conformance kit.

Synapse runs in its own environment (``bash tests/servers/install_synapse.sh``);
without it these tests are skipped, saying so (a failure in CI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from agentdesk_matrix import MatrixChannel
from matrix_harness import STEP, channel_options, customer_of, reply, running, until
from servers.matrix_customer import Customer

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.core.host.discovery import discover
from agentdesk.domain import Message
from agentdesk.plugin import (
    Channel,
    HealthState,
    Inbound,
    Outbound,
    PermanentDeliveryError,
    PluginConfigError,
)
from agentdesk.plugin.testing import ChannelContract, MemoryState, RecordingContext

if TYPE_CHECKING:
    from servers.synapse import Account, Synapse

pytest_plugins = ["servers.synapse"]

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


@pytest.fixture
def bot(synapse: Synapse) -> Account:
    return synapse.register("support")


@pytest.fixture
async def customer(synapse: Synapse) -> AsyncIterator[Customer]:
    async with customer_of(synapse, "Ana Martín") as made:
        yield made


# -- invites and messages in -------------------------------------------------------------


async def test_a_customer_who_opens_a_direct_room_is_heard(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    room = await customer.open_direct(bot.user_id)
    # Written before the bot has even joined: it must not be lost.
    first = await customer.say(room, "Bonjour, where is my sofa?")
    async with running(synapse, bot) as mx:
        message = await mx.next()
        assert message.identity == customer.user_id
        assert message.text == "Bonjour, where is my sofa?"
        assert message.external_id == first
        assert message.customer_name == "Ana Martín"
        assert message.at is not None and message.at > 1_600_000_000
        assert bot.user_id in await customer.members(room)
        assert mx.channel.room_of(customer.user_id) == room
        second = await customer.say(room, "It was due last week.")
        assert (await mx.next()).external_id == second


async def test_invites_from_servers_not_listed_are_declined(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot, invites=["example.org"]) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "Anyone there?")

        async def declined() -> bool:
            events = await customer.messages(room)
            return any(
                e["type"] == "m.room.member"
                and e.get("state_key") == bot.user_id
                and e["content"].get("membership") == "leave"
                for e in events
            )

        await until(declined, what="the bot declining the invite")
        await asyncio.sleep(1)
        assert mx.emitted() == []
        assert mx.channel.room_of(customer.user_id) is None
    async with running(synapse, bot, invites=["example.org", "localhost"]) as mx:
        accepted = await customer.open_direct(bot.user_id)
        await customer.say(accepted, "And now?")
        assert (await mx.next()).text == "And now?"


async def test_a_room_with_more_people_is_not_a_conversation(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with customer_of(synapse) as friend, running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await until(lambda: _has(customer.members(room), bot.user_id), what="the bot joining")
        await customer.call(
            "POST",
            f"/_matrix/client/v3/rooms/{room}/invite",
            {"user_id": friend.user_id},
        )
        await friend.join(room)
        await friend.say(room, "I am not the customer")
        await customer.say(room, "I am")
        message = await mx.next()
        assert (message.identity, message.text) == (customer.user_id, "I am")
        await asyncio.sleep(0.5)
        assert [m.text for m in mx.emitted()] == ["I am"]


async def _has(members: Any, user_id: str) -> bool:
    return user_id in await members


async def test_kinds_of_message_and_replies(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        first = await customer.say(room, "plain")
        await customer.say(room, "an automatic notice", "m.notice")
        await customer.say(room, "waves", "m.emote")
        answer = await customer.reply(room, first, "this answers the first")
        plain, notice, emote, replied = await mx.messages(4)
        assert (plain.text, notice.text, emote.text) == ("plain", "an automatic notice", "* waves")
        # The quote older clients put first is dropped; the reply threads on its target.
        assert replied.text == "this answers the first"
        assert (replied.external_id, replied.thread_ref) == (answer, first)


async def test_hostile_text_reaches_the_desk_clean(
    synapse: Synapse, bot: Account, customer: Customer, desk: Desk
) -> None:
    desk.declare_identity_kinds(MatrixChannel.identity_kinds)
    desk.register_channel(ChannelStatus("mx", "matrix", MatrixChannel.capabilities, HealthState.UP))
    hostile = "\x1b]52;c;ZXZpbA==\x07hi \x1b[31mred\x1b[0m\x00 \u202eevil\u202c done"
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, hostile)
        message = await mx.next()
        assert message.text == hostile  # the channel hands it over as it came
        result = await desk.ingest("mx", message)
    stored = desk.store.get_event(result.event.id)
    assert isinstance(stored, Message)
    for bad in ("\x1b", "\x07", "\x00", "\u202e", "\u202c"):
        assert bad not in stored.text
    assert "hi" in stored.text and "red" in stored.text and "done" in stored.text
    assert [tuple(i) for i in result.customer.identities] == [("matrix", customer.user_id)]


# -- replies ---------------------------------------------------------------------------


async def test_a_reply_reaches_the_customer(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot, display_name="Acme support") as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "Hello")
        await mx.next()
        delivery = await mx.channel.send(reply(customer.user_id))
        assert delivery.external_id and delivery.external_id.startswith("$")
        assert await customer.texts_from(room, bot.user_id) == ["Your sofa ships on Monday."]
        profile = await customer.call("GET", f"/_matrix/client/v3/profile/{bot.user_id}")
        assert profile["displayname"] == "Acme support"


async def test_the_same_key_twice_is_one_message(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "Hello")
        await mx.next()
        outbound = reply(customer.user_id, key="same-key")
        first = await mx.channel.send(outbound)
        again = await mx.channel.send(outbound)
        both = await asyncio.gather(*(mx.channel.send(outbound) for _ in range(3)))
        assert {first.external_id, again.external_id} | {d.external_id for d in both} == {
            first.external_id
        }
        assert await customer.texts_from(room, bot.user_id) == [outbound.text]


async def test_the_homeserver_makes_a_retried_transaction_one_message(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    """A retry that the channel's own record cannot answer (its state was lost,
    or the answer never came): the same txnId gets the same event from Synapse."""
    room = await customer.open_direct(bot.user_id)
    await customer.say(room, "Hello")
    rooms: dict[str, Any] = {}
    async with running(synapse, bot) as mx:
        await mx.next()
        first = await mx.channel.send(reply(customer.user_id, key="k-retried"))
        rooms = dict(mx.ctx.state.values)
    # A new instance that knows the room but not that the reply went out.
    state = MemoryState({"rooms": rooms["rooms"], "since": rooms["since"]})
    async with running(synapse, bot, state=state) as mx:
        again = await mx.channel.send(reply(customer.user_id, key="k-retried"))
    assert again.external_id == first.external_id
    assert await customer.texts_from(room, bot.user_id) == ["Your sofa ships on Monday."]


async def test_a_send_whose_answer_was_lost_is_found_not_repeated(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    room = await customer.open_direct(bot.user_id)
    await customer.say(room, "Hello")
    async with running(synapse, bot) as mx:
        await mx.next()
        outbound = reply(customer.user_id, key="k-lost")
        # The request went out and the homeserver made the event; the answer was lost.
        await mx.channel.ledger.begin(outbound.key)
        assert mx.channel._api is not None
        made = await mx.channel._api.send_message(
            room, outbound.key, {"msgtype": "m.text", "body": outbound.text}
        )
        delivery = await mx.channel.send(outbound)
        assert delivery.external_id == made
        assert mx.channel.ledger.get(outbound.key).external_id == made  # type: ignore[union-attr]
    assert await customer.texts_from(room, bot.user_id) == [outbound.text]


async def test_a_reply_to_a_customer_without_a_room_opens_one(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        handoff = reply(customer.user_id, "We continue here, as promised.", key="handoff-1")
        delivery = await mx.channel.send(handoff)
        room = mx.channel.room_of(customer.user_id)
        assert room is not None
        await customer.wait_for(lambda c: room in c.invites, what="the invite")
        invite = await customer.call("GET", "/_matrix/client/v3/sync", timeout="0")
        member = [
            e
            for e in invite["rooms"]["invite"][room]["invite_state"]["events"]
            if e["type"] == "m.room.member" and e["state_key"] == customer.user_id
        ]
        assert member and member[0]["content"].get("is_direct") is True
        await customer.join(room)
        assert await customer.texts_from(room, bot.user_id) == [handoff.text]
        sent = [e for e in await customer.messages(room) if e["sender"] == bot.user_id]
        assert sent[-1]["event_id"] == delivery.external_id
        # Their answer in that room is theirs, and the next reply goes to the same room.
        await customer.say(room, "Thanks!")
        assert (await mx.next()).identity == customer.user_id
        await mx.channel.send(reply(customer.user_id, "You are welcome.", key="r2"))
        assert await customer.texts_from(room, bot.user_id) == [handoff.text, "You are welcome."]


async def test_a_customer_who_leaves_gets_a_new_room_for_the_next_reply(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "Hello")
        await mx.next()
        await customer.leave(room)
        await until(
            lambda: _async_value(mx.channel.room_of(customer.user_id) is None),
            what="the channel forgetting the room",
        )
        await mx.channel.send(reply(customer.user_id, key="after-leave"))
        new_room = mx.channel.room_of(customer.user_id)
        assert new_room is not None and new_room != room
        await customer.wait_for(lambda c: new_room in c.invites, what="the new invite")


async def _async_value(value: Any) -> Any:
    return value


@pytest.mark.parametrize(
    ("to", "text", "problem"),
    [
        ("", "hi", "no Matrix user"),
        ("ana", "hi", "not a Matrix user id"),
        ("@ana:localhost", "  ", "empty"),
        ("@ana:localhost", "x" * 12_001, "at most 12,000"),
    ],
)
async def test_replies_that_cannot_go_are_refused_with_a_reason(
    synapse: Synapse, bot: Account, to: str, text: str, problem: str
) -> None:
    async with running(synapse, bot) as mx:
        with pytest.raises(PermanentDeliveryError, match=problem):
            await mx.channel.send(reply(to, text))


async def test_a_reply_to_a_user_that_does_not_exist_fails_for_good(
    synapse: Synapse, bot: Account
) -> None:
    async with running(synapse, bot) as mx:
        with pytest.raises(
            PermanentDeliveryError, match="there is no Matrix user @nobody-here:localhost"
        ):
            await mx.channel.send(reply("@nobody-here:localhost"))


# -- the sync token ----------------------------------------------------------------------


async def test_a_restart_neither_replays_nor_skips(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    state = MemoryState()
    room = await customer.open_direct(bot.user_id)
    async with running(synapse, bot, state=state) as mx:
        sent = [await customer.say(room, f"before {n}") for n in range(3)]
        assert [m.external_id for m in await mx.messages(3)] == sent
        # Let the token of the batch that held them be stored.
        await until(lambda: _async_value(state.get("since")), what="a stored token")
    while_stopped = [await customer.say(room, f"while stopped {n}") for n in range(3)]
    async with running(synapse, bot, state=state) as mx:
        again = await mx.messages(3)
        assert [m.external_id for m in again] == while_stopped
        after = await customer.say(room, "after the restart")
        assert (await mx.next()).external_id == after
        await asyncio.sleep(1)
        assert [m.external_id for m in mx.emitted()] == [*while_stopped, after]


class GatedContext(RecordingContext):
    """A desk that takes nothing until ``gate`` is set: a stuck or slow desk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.gate.set()

    async def emit(self, item: Inbound) -> None:
        await self.gate.wait()
        await super().emit(item)


async def test_the_token_is_kept_only_once_its_messages_are_handed_over(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    state = MemoryState()
    async with running(synapse, bot, state=state, context_class=GatedContext) as mx:
        assert isinstance(mx.ctx, GatedContext)
        room = await customer.open_direct(bot.user_id)
        await until(lambda: _has(customer.members(room), bot.user_id), what="the bot joining")
        await asyncio.sleep(1)  # the sync that saw the join is kept
        before = state.get("since")
        mx.ctx.gate.clear()
        await customer.say(room, "held by a slow desk")
        await asyncio.sleep(2)
        assert state.get("since") == before  # the desk has not taken the message yet
        mx.ctx.gate.set()
        assert (await mx.next()).text == "held by a slow desk"
        await until(lambda: _async_value(state.get("since") != before), what="a new token")


async def test_a_channel_that_lost_its_state_finds_its_rooms_again(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    room = await customer.open_direct(bot.user_id)
    async with running(synapse, bot) as mx:
        first = await customer.say(room, "hello")
        await mx.next()
    async with running(synapse, bot, state=MemoryState()) as mx:
        # The first sync of a new state shows the room's recent history (the desk
        # drops what it has by event id), and the room is the customer's again.
        assert (await mx.next()).external_id == first
        assert mx.channel.room_of(customer.user_id) == room
        await mx.channel.send(reply(customer.user_id, key="after-loss"))
    assert await customer.texts_from(room, bot.user_id) == ["Your sofa ships on Monday."]


class ShortTimeline(MatrixChannel):
    """A sync returns two events per room: a longer absence is a gap to read back."""

    timeline_limit = 2


async def test_a_long_absence_is_read_back_in_order(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    state = MemoryState()
    room = await customer.open_direct(bot.user_id)
    async with running(synapse, bot, state=state, channel_class=ShortTimeline) as mx:
        await customer.say(room, "first")
        await mx.next()
        await until(lambda: _async_value(state.get("since")), what="a stored token")
        await asyncio.sleep(0.5)
    missed = [await customer.say(room, f"missed {n}") for n in range(7)]
    async with running(synapse, bot, state=state, channel_class=ShortTimeline) as mx:
        got = await mx.messages(7)
        assert [m.external_id for m in got] == missed
        await asyncio.sleep(0.5)
        assert len(mx.emitted()) == 7


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"homeserver": "matrix.example.org"}, "homeserver"),
        ({"homeserver": "http://matrix.example.org"}, "homeserver"),
        ({"user_id": "support"}, "user_id"),
        ({"user_id": "@support"}, "user_id"),
        ({"access_token": ""}, "access_token"),
        ({"password": "secret"}, "password"),
        ({"invites": "some"}, "invites"),
        ({"invites": ["not a server!"]}, "invites"),
        ({"invites": 3}, "invites"),
        ({"max_media_mb": -1}, "max_media_mb"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_malformed_option_names_its_key(change: dict[str, Any], key: str) -> None:
    options = {
        "homeserver": "https://matrix.example.org",
        "user_id": "@support:example.org",
        "access_token": "syt_secret_token",
        **change,
    }
    with pytest.raises(PluginConfigError, match=rf"^(mx\.)?{key}: ") as raised:
        ctx = RecordingContext.for_channel(MatrixChannel, options, channel_name="mx")
        MatrixChannel(ctx)
    assert "syt_secret_token" not in str(raised.value)


def test_invites_take_any_or_a_list() -> None:
    base = {"homeserver": "http://127.0.0.1:1", "user_id": "@s:localhost", "access_token": "t"}
    for given, expected in [
        ("any", "any"),
        ("ANY", "any"),
        (["Example.org", "localhost:8448"], ("example.org", "localhost:8448")),
        (["example.org", "any"], "any"),
    ]:
        ctx = RecordingContext.for_channel(MatrixChannel, {**base, "invites": given})
        assert MatrixChannel(ctx).settings.invites == expected


def test_the_plugin_folder_declares_the_channel() -> None:
    catalog = discover([PLUGINS], entry_points=None)
    assert catalog.channels["matrix"] is MatrixChannel
    kinds = MatrixChannel.identity_kinds
    assert [k.name for k in kinds] == ["matrix"]
    assert kinds[0].problem("@ana:example.org") is None
    assert "Matrix user" in (kinds[0].problem("ana") or "")
    assert kinds[0].normalize(" @Ana:Example.org ") == "@ana:example.org"


# -- the conformance kit ---------------------------------------------------------------


class TestMatrixContract(ChannelContract):
    channel_class = MatrixChannel
    options: dict[str, Any] = {}
    inbound_timeout = STEP

    @pytest.fixture(autouse=True)
    async def _accounts(self, synapse: Synapse) -> AsyncIterator[None]:
        self.synapse = synapse
        bot = synapse.register("contract-bot")
        self.bot = bot
        self.options = channel_options(synapse, bot)
        async with customer_of(synapse) as customer:
            self.customer = customer
            yield

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        room = await self.customer.open_direct(self.bot.user_id)
        await self.customer.say(room, "Contract hello")

    async def send_address(self, channel: Channel, ctx: RecordingContext) -> str | None:
        return self.customer.user_id

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        assert isinstance(channel, MatrixChannel)
        room = channel.room_of(outbound.to)
        assert room is not None
        await self.customer.join(room)
        return (await self.customer.texts_from(room, self.bot.user_id)).count(outbound.text)
