"""The matrix channel when things go wrong, against a real Synapse: the
homeserver going away and coming back, refused tokens and passwords, rate
limits; and password logins that keep their device across restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from matrix_harness import customer_of, reply, running
from servers.matrix_customer import Customer
from servers.tcp_relay import TcpRelay

from agentdesk.plugin import HealthState, TemporaryDeliveryError
from agentdesk.plugin.testing import MemoryState

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


@pytest.fixture
async def relay(synapse: Synapse) -> AsyncIterator[TcpRelay]:
    parts = urlsplit(synapse.url)
    async with TcpRelay(parts.hostname or "127.0.0.1", parts.port or 80) as made:
        yield made


async def test_a_homeserver_that_goes_away_degrades_the_channel_until_it_is_back(
    synapse: Synapse, bot: Account, customer: Customer, relay: TcpRelay
) -> None:
    async with running(synapse, bot, homeserver=relay.url) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "before")
        assert (await mx.next()).text == "before"
        await relay.cut()
        degraded = await mx.until_health(HealthState.DEGRADED)
        assert "cannot be reached" in degraded.detail and "next try in" in degraded.detail
        # A reply meanwhile waits in the outbox: a temporary failure with a reason.
        with pytest.raises(TemporaryDeliveryError, match="cannot be reached"):
            await mx.channel.send(reply(customer.user_id, key="during-outage"))
        await customer.say(room, "during the outage")
        await relay.restore()
        up = await mx.until_health(HealthState.UP, timeout=40)
        assert up.detail.startswith(f"signed in as {bot.user_id}")
        assert (await mx.next(timeout=40)).text == "during the outage"
        delivery = await mx.channel.send(reply(customer.user_id, key="during-outage"))
        assert delivery.external_id
    assert await customer.texts_from(room, bot.user_id) == ["Your sofa ships on Monday."]


async def test_a_homeserver_down_at_start_is_degraded_not_a_crash(
    synapse: Synapse, bot: Account, relay: TcpRelay
) -> None:
    await relay.cut()
    async with running(synapse, bot, homeserver=relay.url, ready=False) as mx:
        await mx.until_health(HealthState.DEGRADED)
        assert mx.ctx.crashes == []
        await relay.restore()
        await mx.until_health(HealthState.UP, timeout=40)


async def test_a_refused_token_degrades_with_a_sentence_and_is_never_logged(
    synapse: Synapse, bot: Account, customer: Customer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "syt_not_a_real_token_for_anyone"
    async with running(synapse, bot, access_token=wrong, ready=False) as mx:
        health = await mx.until_health(HealthState.DEGRADED)
        assert "refused the bot's access token (M_UNKNOWN_TOKEN" in health.detail
        assert "set access_token" in health.detail
        with pytest.raises(TemporaryDeliveryError, match="refused the bot's access token"):
            await mx.channel.send(reply(customer.user_id))
    assert wrong not in caplog.text


async def test_another_accounts_token_is_refused_by_name(synapse: Synapse, bot: Account) -> None:
    other = synapse.register("someone-else")
    async with running(synapse, bot, access_token=other.access_token, ready=False) as mx:
        health = await mx.until_health(HealthState.DEGRADED)
        assert f"belongs to {other.user_id}, not to the user_id {bot.user_id}" in health.detail


async def test_a_password_login_keeps_its_device_across_restarts(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    state = MemoryState()
    options = {"access_token": None, "password": bot.password}
    async with running(synapse, bot, state=state, **options) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "hello")
        await mx.next()
        first = await mx.channel.send(reply(customer.user_id, key="k-pw"))
    login = state.get("login")
    assert login["device_id"] and login["token"] != bot.access_token
    async with running(synapse, bot, state=state, **options) as mx:
        # The same device: the homeserver still knows the transaction, so no second message.
        await mx.channel.ledger.forget("k-pw")
        state.values.pop("deliveries", None)
        again = await mx.channel.send(reply(customer.user_id, key="k-pw"))
    assert state.get("login") == login
    assert again.external_id == first.external_id
    assert await customer.texts_from(room, bot.user_id) == ["Your sofa ships on Monday."]


async def test_a_logged_out_token_is_replaced_by_a_new_login(
    synapse: Synapse, bot: Account
) -> None:
    state = MemoryState()
    options = {"access_token": None, "password": bot.password}
    async with running(synapse, bot, state=state, **options):
        pass
    kept = state.get("login")
    logout = Customer(synapse.url, bot.user_id, kept["token"])
    await logout.call("POST", "/_matrix/client/v3/logout", {})
    await logout.close()
    async with running(synapse, bot, state=state, **options):
        renewed = state.get("login")
    assert renewed["token"] != kept["token"]
    assert renewed["device_id"] == kept["device_id"]


async def test_a_wrong_password_degrades_with_a_sentence(synapse: Synapse, bot: Account) -> None:
    options = {"access_token": None, "password": "not-the-password"}
    async with running(synapse, bot, ready=False, **options) as mx:
        health = await mx.until_health(HealthState.DEGRADED)
        assert "refused the bot's login (M_FORBIDDEN" in health.detail
        assert "check user_id and password" in health.detail
        assert "not-the-password" not in health.detail


async def test_a_rate_limit_is_a_temporary_failure_that_sends_once_later(
    synapse: Synapse, bot: Account, customer: Customer
) -> None:
    admin = synapse.register("admin", admin=True)
    async with running(synapse, bot) as mx:
        room = await customer.open_direct(bot.user_id)
        await customer.say(room, "hello")
        await mx.next()
        synapse.limit_messages(admin, bot.user_id, per_second=1, burst=1)
        await asyncio.sleep(1.5)  # joining the room counted as the bot's one action
        await mx.channel.send(reply(customer.user_id, "one", key="k-one"))
        limited = reply(customer.user_id, "two", key="k-two")
        with pytest.raises(TemporaryDeliveryError, match="limiting how fast") as raised:
            await mx.channel.send(limited)
        assert "is retried in" in str(raised.value)
        # Refused for certain, so the retry sends it without looking for it first.
        assert mx.channel.ledger.get("k-two") is None
        await asyncio.sleep(2.5)
        await mx.channel.send(limited)
    assert await customer.texts_from(room, bot.user_id) == ["one", "two"]
