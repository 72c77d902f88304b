"""Running one channel instance under watch, for the contract's checks.

A ``session`` gives a check a fresh instance of the channel with its own
``RecordingContext`` (served over HTTP when the channel needs it), measures
how long the event loop is kept from running meanwhile, and stops the
channel and removes its data directory afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .channel import Channel
from .http_defaults import shared_ssl_context
from .recording import RecordingContext, serve
from .types import Outbound

#: Where the kit sends test replies when the author names no address.
DEFAULT_ADDRESSES = {
    "email": "contract-check@example.com",
    "phone": "+15555550100",
    "chat": "contract-check-session",
    "social": "contract_check",
}

Hook = Callable[[Channel, RecordingContext], Awaitable[Any]]


class ContractFailure(AssertionError):
    """A check found the channel breaking the contract."""


class ContractSkip(Exception):
    """A check does not apply to this channel (say, sending on a one-way channel)."""


@dataclass(slots=True)
class ContractSubject:
    """The channel under check and how to exercise it."""

    channel_class: type[Channel]
    options: Mapping[str, Any] = field(default_factory=dict)
    channel_name: str = "contract"
    #: Whether the send checks run (they really send to ``send_address``).
    send_enabled: bool = True
    #: Returns the address replies go to; None uses ``DEFAULT_ADDRESSES``.
    send_address: Hook | None = None
    #: Makes the channel receive something; without it the kit just waits.
    trigger_inbound: Hook | None = None
    #: ``(channel, ctx, outbound) -> int | None``: how many times the customer got it.
    count_deliveries: (
        Callable[[Channel, RecordingContext, Outbound], Awaitable[int | None]] | None
    ) = None
    inbound_timeout: float = 5.0
    #: Longest a start, send or stop may take, in seconds.
    step_timeout: float = 10.0
    #: Longest the event loop may be kept from running, in seconds.
    max_loop_lag: float = 0.1


class LoopLagMonitor:
    """Measures how late a ticker task wakes: the longest the loop was blocked."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.max_lag = max(self.max_lag, loop.time() - before - self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick(), name="loop-lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@dataclass(slots=True)
class Session:
    """One channel instance, its context and a loop-lag monitor."""

    subject: ContractSubject
    ctx: RecordingContext
    channel: Channel
    lag: LoopLagMonitor
    started: bool = False

    async def step(self, what: str, awaitable: Awaitable[Any]) -> Any:
        """Await a channel call with the step time limit."""
        try:
            return await asyncio.wait_for(awaitable, self.subject.step_timeout)
        except TimeoutError:
            raise ContractFailure(
                f"{what} did not return within {self.subject.step_timeout:g} s"
            ) from None

    async def start(self) -> None:
        await self.step("start()", self.channel.start())
        self.started = True

    async def stop(self) -> None:
        await self.step("stop()", self.channel.stop())
        self.started = False

    async def address(self) -> str:
        if not self.subject.send_enabled:
            raise ContractSkip("sending is not checked (no address to send to was given)")
        if self.subject.send_address is not None:
            address = await self.subject.send_address(self.channel, self.ctx)
            if address:
                return str(address)
        kind = self.channel.capabilities.identity_kind
        declared = next(
            (k.example for k in type(self.channel).identity_kinds if k.name == kind and k.example),
            None,
        )
        return DEFAULT_ADDRESSES.get(kind) or declared or "contract-check"

    def outbound(self, to: str, text: str = "Contract check: hello") -> Outbound:
        return Outbound(
            key=f"contract-{uuid.uuid4().hex}",
            to=to,
            text=text,
            task_id="contract-task",
            task_number=1,
            customer_name="Contract Check",
            subject="Contract check",
        )


@contextlib.asynccontextmanager
async def session(subject: ContractSubject) -> AsyncIterator[Session]:
    """A fresh instance, served over HTTP when it needs it, stopped on exit."""
    cls = subject.channel_class
    ctx = RecordingContext.for_channel(cls, subject.options, channel_name=subject.channel_name)
    lag = LoopLagMonitor()
    await asyncio.to_thread(shared_ssl_context)  # built once, and not on the loop
    try:
        channel = cls(ctx)
        current = Session(subject, ctx, channel, lag)
        lag.start()
        async with contextlib.AsyncExitStack() as stack:
            if cls.needs_http:
                await stack.enter_async_context(serve(ctx))
            try:
                yield current
            finally:
                if current.started:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(channel.stop(), subject.step_timeout)
        if ctx.crashes:
            crash = ctx.crashes[0]
            raise ContractFailure(f"a spawned task crashed: {type(crash).__name__}: {crash}")
    finally:
        await lag.stop()
        ctx.close()


def require(condition: bool, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ContractFailure(message)
