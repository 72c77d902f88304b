"""Running the matrix channel against the test Synapse, for its test modules:
a started channel with a recording context, and the people in the rooms."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from agentdesk_matrix import MatrixChannel
from servers.matrix_customer import Customer

from agentdesk.plugin import Health, HealthState, Inbound, InboundMessage, Outbound
from agentdesk.plugin.testing import MemoryState, RecordingContext

if TYPE_CHECKING:
    from servers.synapse import Account, Synapse

STEP = 15.0
T = TypeVar("T")


def channel_options(synapse: Synapse, bot: Account, **more: Any) -> dict[str, Any]:
    return {
        "homeserver": synapse.url,
        "user_id": bot.user_id,
        "access_token": bot.access_token,
        **more,
    }


def reply(to: str, text: str = "Your sofa ships on Monday.", key: str = "r1") -> Outbound:
    return Outbound(key=key, to=to, text=text, task_id="t1", task_number=7, agent="Sam")


@dataclass
class Running:
    """A started channel named "mx" and its recording context."""

    channel: MatrixChannel
    ctx: RecordingContext
    bot: Account

    async def next(self, kind: type[T] = InboundMessage, timeout: float = STEP) -> T:  # type: ignore[assignment]
        """The next emitted item of ``kind``; items of other kinds are passed over."""
        deadline = time.monotonic() + timeout
        while True:
            item = await self.ctx.next_inbound(max(0.01, deadline - time.monotonic()))
            if isinstance(item, kind):
                return item

    async def messages(self, count: int, timeout: float = STEP) -> list[InboundMessage]:
        return [await self.next(InboundMessage, timeout) for _ in range(count)]

    def emitted(self, kind: type[Inbound] = InboundMessage) -> list[Any]:
        return [item for item in self.ctx.emitted if isinstance(item, kind)]

    async def until_health(self, state: HealthState, timeout: float = STEP) -> Health:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.channel.health()
            if health.state == state:
                return health
            await asyncio.sleep(0.05)
        raise AssertionError(f"the channel never became {state}; it is {self.channel.health()}")

    async def ready(self, timeout: float = STEP) -> None:
        """Wait for the first sync to have worked."""
        await self.until_health(HealthState.UP, timeout)


@contextlib.asynccontextmanager
async def running(
    synapse: Synapse,
    bot: Account,
    *,
    state: MemoryState | None = None,
    channel_class: type[MatrixChannel] = MatrixChannel,
    context_class: type[RecordingContext] = RecordingContext,
    ready: bool = True,
    **options: Any,
) -> AsyncIterator[Running]:
    merged = channel_options(synapse, bot, **options)
    merged = {k: v for k, v in merged.items() if v is not None}
    ctx = context_class.for_channel(channel_class, merged, channel_name="mx", state=state)
    channel = channel_class(ctx)
    try:
        await channel.start()
        run = Running(channel, ctx, bot)
        if ready:
            await run.ready()
        try:
            yield run
        finally:
            await channel.stop()
    finally:
        ctx.close()


@contextlib.asynccontextmanager
async def customer_of(synapse: Synapse, name: str = "") -> AsyncIterator[Customer]:
    """A newly registered customer, logged in with their password."""
    account = await asyncio.to_thread(synapse.register, "customer")
    customer = await Customer.login(synapse.url, account.user_id, account.password)
    try:
        if name:
            await customer.set_name(name)
        yield customer
    finally:
        await customer.close()


async def until(check: Any, timeout: float = STEP, what: str = "") -> Any:
    """Poll an async ``check()`` until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what or check}")
        await asyncio.sleep(0.1)
