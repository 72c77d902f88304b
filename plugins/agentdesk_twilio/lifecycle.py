"""What both Twilio channels do the same way: one HTTP client to Twilio's API
and one task draining the webhook spool while started, and their health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import httpx

from agentdesk.plugin import Channel, Health, HealthState, PluginContext

from .failures import BadCredentials

T = TypeVar("T")


class TwilioChannel(Channel):
    """``start`` opens the client and hands it to ``attach``, then spawns
    ``drain()``; ``stop`` undoes both (``detach``). Subclasses say how."""

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._health = Health(HealthState.STOPPED)

    def attach(self, client: httpx.AsyncClient) -> None:
        """Give the started client to what talks to Twilio."""

    def detach(self) -> None:
        """Take it back (stopping)."""

    def drain(self) -> Coroutine[Any, Any, None]:
        """The background work while started: the spool handed to the desk."""
        raise NotImplementedError

    def timeout(self) -> float:
        raise NotImplementedError

    def webhook_detail(self) -> str:
        """The health line: where Twilio must post."""
        raise NotImplementedError

    async def start(self) -> None:
        if self._task is not None:
            return
        client = self.context.http_client(timeout=httpx.Timeout(self.timeout()))
        self._client = client
        self.attach(client)
        self._task = self.context.spawn(
            self.drain(), name=f"{self.plugin}-{self.context.channel_name}"
        )
        self._set_health(Health(HealthState.UP, self.webhook_detail()))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.detach()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._health.state != HealthState.STOPPED:
            self._set_health(Health(HealthState.STOPPED))

    def health(self) -> Health:
        return self._health

    def _set_health(self, health: Health) -> None:
        self._health = health
        self.context.report(health)

    async def guarded(self, call: Awaitable[T]) -> T:
        """``call`` to Twilio: refused credentials degrade the channel, and the
        next call that works brings it back up."""
        try:
            result = await call
        except BadCredentials as exc:
            self._set_health(Health(HealthState.DEGRADED, str(exc)))
            raise
        if self._health.state == HealthState.DEGRADED and self._task is not None:
            self._set_health(Health(HealthState.UP, self.webhook_detail()))
        return result
