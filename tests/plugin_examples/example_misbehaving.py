"""Channels that load fine but misbehave at run time; the supervisor must contain each."""

from __future__ import annotations

import asyncio

from agentdesk.plugin import (
    Capabilities,
    Channel,
    ChannelConnectionError,
    Delivery,
    InboundMessage,
    Option,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

SMS = Capabilities(kind="sms", identity_kind="phone", max_text_length=1600)


class CrashOnStart(Channel):
    """Raises in start until it has been started ``fail_times`` times (counted in state)."""

    plugin = "crash-on-start"
    capabilities = SMS
    options = (Option.number("fail_times", default=2, integer=True, minimum=0),)

    async def start(self) -> None:
        starts = self.context.state.get("starts", 0) + 1
        await self.context.state.set("starts", starts)
        if starts <= self.context.options["fail_times"]:
            raise ChannelConnectionError(f"gateway unreachable (start {starts})")

    async def send(self, outbound: Outbound) -> Delivery:
        return Delivery(external_id=f"ok-{outbound.key}")


class HangingSend(Channel):
    """Its first send never returns; later instances deliver."""

    plugin = "hanging-send"
    capabilities = SMS

    async def send(self, outbound: Outbound) -> Delivery:
        hung = self.context.state.get("hung", False)
        if not hung:
            await self.context.state.set("hung", True)
            await asyncio.Event().wait()
        sent = self.context.state.get("sent", [])
        if outbound.key not in sent:
            await self.context.state.set("sent", [*sent, outbound.key])
        return Delivery(external_id=f"sms-{outbound.key}")


class FlakySend(Channel):
    """Fails temporarily twice, then refuses one address for good, else delivers."""

    plugin = "flaky-send"
    capabilities = SMS

    async def send(self, outbound: Outbound) -> Delivery:
        if outbound.to.endswith("0000"):
            raise PermanentDeliveryError("number does not exist")
        tries = self.context.state.get("tries", 0) + 1
        await self.context.state.set("tries", tries)
        if tries <= 2:
            raise TemporaryDeliveryError("gateway busy")
        return Delivery(external_id=f"sms-{outbound.key}")


class Malformed(Channel):
    """Emits hostile items, then one ordinary message."""

    plugin = "malformed"
    capabilities = SMS

    async def start(self) -> None:
        self.context.spawn(self._emit())

    async def _emit(self) -> None:
        emit = self.context.emit
        await emit(InboundMessage(identity="", text="no sender"))
        await emit(InboundMessage(identity="   ", text="blank sender"))
        await emit(InboundMessage(identity="+33600000001", text="x" * 50_000_000))
        await emit(InboundMessage(identity="+33600000002", text="bad \ud800 surrogate \udfff"))
        await emit(
            InboundMessage(
                identity="+33600000003\x1b]0;owned\x07",
                customer_name="\x1b[31mRed\x1b[0m Mallory",
                text="clear \x1b[2J\x1b[H screen \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
            )
        )
        await emit(InboundMessage(identity="+33600000004", text=""))
        await emit(InboundMessage(identity="+33600000005", text="an ordinary message"))


class Flooder(Channel):
    """Emits ``count`` messages in a tight loop, never sleeping."""

    plugin = "flooder"
    capabilities = SMS
    options = (Option.number("count", default=5000, integer=True, minimum=1),)

    async def start(self) -> None:
        self.context.spawn(self._flood())

    async def _flood(self) -> None:
        for n in range(self.context.options["count"]):
            await self.context.emit(InboundMessage(identity=f"+3360000{n % 50:04d}", text=f"m{n}"))


class CrashingTask(Channel):
    """Its background task dies on the first run; later instances are fine."""

    plugin = "crashing-task"
    capabilities = SMS

    async def start(self) -> None:
        self.context.spawn(self._work())

    async def _work(self) -> None:
        runs = self.context.state.get("runs", 0) + 1
        await self.context.state.set("runs", runs)
        if runs == 1:
            raise RuntimeError("poll loop lost its connection")
        await asyncio.Event().wait()


CHANNELS = [CrashOnStart, HangingSend, FlakySend, Malformed, Flooder, CrashingTask]
