"""Channels that break one rule of the contract each; the kit must catch every one."""

from __future__ import annotations

import asyncio
import time

from agentdesk.plugin import Capabilities, Channel, Delivery, InboundMessage, Outbound

CHAT = Capabilities(kind="chat", identity_kind="chat", max_text_length=100)


class Polite(Channel):
    """Follows the contract; the breakers below change one thing each."""

    plugin = "polite"
    capabilities = CHAT

    def __init__(self, context) -> None:
        super().__init__(context)
        self.sent: dict[str, Delivery] = {}
        self.deliveries: list[str] = []
        self.running = False
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.task = self.context.spawn(self._hello())

    async def _hello(self) -> None:
        await self.context.emit(InboundMessage(identity="visitor-1", text="hello"))
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.running = False
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def send(self, outbound: Outbound) -> Delivery:
        from agentdesk.plugin import ChannelConnectionError, PermanentDeliveryError

        if not self.running:
            raise ChannelConnectionError("not started")
        if not outbound.to:
            raise PermanentDeliveryError("no recipient")
        if len(outbound.text) > 100:
            raise PermanentDeliveryError("too long")
        if outbound.key not in self.sent:
            self.deliveries.append(outbound.key)
            self.sent[outbound.key] = Delivery(external_id=f"m-{len(self.sent)}")
        return self.sent[outbound.key]


class Blocking(Polite):
    plugin = "blocking"

    async def start(self) -> None:
        time.sleep(0.15)  # the mistake: a blocking call on the event loop
        await super().start()


class Leaky(Polite):
    plugin = "leaky"

    async def stop(self) -> None:
        self.running = False  # the mistake: the task keeps running


class Duplicating(Polite):
    plugin = "duplicating"

    async def send(self, outbound: Outbound) -> Delivery:
        self.sent.pop(outbound.key, None)  # the mistake: forgets what it sent
        return await super().send(outbound)


class NoLimit(Polite):
    plugin = "no-limit"

    async def send(self, outbound: Outbound) -> Delivery:
        return await super().send(
            Outbound(**{**_fields(outbound), "text": outbound.text[:100]})
        )  # the mistake: silently truncates instead of refusing


class Silent(Polite):
    plugin = "silent"

    async def _hello(self) -> None:
        await asyncio.Event().wait()  # the mistake: never emits anything


class BadItems(Polite):
    plugin = "bad-items"

    async def _hello(self) -> None:
        await self.context.emit(InboundMessage(identity="", text="who am I?"))
        await asyncio.Event().wait()


class UntypedErrors(Polite):
    plugin = "untyped-errors"

    async def send(self, outbound: Outbound) -> Delivery:
        if not outbound.to:
            raise KeyError("recipient")  # the mistake: not a DeliveryError
        return await super().send(outbound)


class SlowStop(Polite):
    plugin = "slow-stop"

    async def stop(self) -> None:
        await asyncio.sleep(60)


def _fields(outbound: Outbound) -> dict:
    return {name: getattr(outbound, name) for name in outbound.__dataclass_fields__}


CHANNELS = [
    Polite,
    Blocking,
    Leaky,
    Duplicating,
    NoLimit,
    Silent,
    BadItems,
    UntypedErrors,
    SlowStop,
]
