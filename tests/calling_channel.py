"""A channel that places calls, for the tests of call back: real enough to
run under the desk's supervisor, with no provider behind it."""

from __future__ import annotations

from typing import Any

from agentdesk.plugin import Capabilities, Channel, InboundMessage


class Caller(Channel):
    """Places calls for agents with a phone in its options; remembers each key."""

    plugin = "caller"
    capabilities = Capabilities(kind="phone", identity_kind="phone", outbound=False, calls=True)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.placed: list[tuple[str, str, str]] = []

    async def start(self) -> None:
        await self.context.emit(InboundMessage("+33600000009", "call me back please"))

    async def call_back(self, to: str, *, agent: str, key: str) -> str:
        from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

        if agent == "nobody":
            raise PermanentDeliveryError("no phone is configured for nobody")
        if agent == "busy":
            raise TemporaryDeliveryError("the provider is busy (429)")
        self.placed.append((to, agent, key))
        return f"ringing {agent}'s phone, then {to}\x1b]52;c;AAAA\x07"
