"""Keeping one channel running: start, watch, stop, restart with backoff.

A ``ChannelSupervisor`` runs one configured channel for the ``ChannelRuntime``:

- it starts a fresh instance with a fresh ``PluginContext``;
- it treats an exception from ``start``, a crashed task started with
  ``context.spawn``, or a ``send`` that hangs past the send timeout as a
  failure: the instance is stopped, the channel shows ``degraded`` (``down``
  after several failures in a row) with the error and the time of the next
  try, and a new instance starts after a capped exponential backoff with
  jitter;
- it never restarts a channel whose options are wrong (``PluginConfigError``):
  the channel stays ``down`` with the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentdesk.api import DeskError, ErrorCode
from agentdesk.core.config import Config
from agentdesk.domain.text import clean_text
from agentdesk.plugin import (
    Channel,
    ChannelConnectionError,
    Delivery,
    HandoffContext,
    Health,
    HealthState,
    Outbound,
    PermanentDeliveryError,
    PluginConfigError,
    TemporaryDeliveryError,
)

from .backoff import Backoff
from .plugin_context import DeskPluginContext, InboundPump

if TYPE_CHECKING:
    from .channel_runtime import ChannelRuntime

log = logging.getLogger("agentdesk.channels")


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    restart_base: float = 1.0
    restart_cap: float = 60.0
    send_timeout: float = 30.0
    start_timeout: float = 30.0
    stop_timeout: float = 10.0
    queue_size: int = 1000
    #: Failures in a row after which a channel shows "down" instead of "degraded".
    down_after: int = 3

    @classmethod
    def from_config(cls, config: Config) -> RuntimeSettings:
        s = config.supervision
        return cls(
            restart_base=s.restart_base_seconds,
            restart_cap=s.restart_cap_seconds,
            send_timeout=s.send_timeout_seconds,
            queue_size=s.inbound_queue_size,
        )


class ChannelSupervisor:
    """Keeps one configured channel running."""

    def __init__(
        self,
        runtime: ChannelRuntime,
        name: str,
        cls: type[Channel],
        options: dict[str, Any],
        pump: InboundPump,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.cls = cls
        self.options = options
        self.pump = pump
        self.settings = runtime.settings
        self.backoff = Backoff(self.settings.restart_base, self.settings.restart_cap)
        self.instance: Channel | None = None
        self.context: DeskPluginContext | None = None
        self.up = False
        self.starting = False
        self.restarts = 0
        self.task: asyncio.Task[None] | None = None
        self._failure: str | None = None
        self._failed = asyncio.Event()
        self._up_since: float | None = None
        self._stopping = False

    def update(self, **changes: Any) -> None:
        self.runtime.desk.update_channel(self.name, **changes)

    def fail(self, error: str) -> None:
        """Mark the running instance failed; the supervisor restarts it."""
        if self.up and self._failure is None:
            log.warning("channel %s failed: %s", self.name, error)
            self._failure = error
            self._failed.set()

    async def run(self) -> None:
        attempt = 0
        while not self._stopping:
            self._failure = None
            self._failed.clear()
            up_since: float | None = None
            try:
                failure = await self._run_instance()
                up_since = self._up_since
            except PluginConfigError as exc:
                await self._teardown()
                self.update(state=HealthState.DOWN, last_error=str(exc), next_retry_at=None)
                log.error("channel %s cannot start: %s", self.name, exc)
                return
            finally:
                self.up = self.starting = False
            await self._teardown()
            if self._stopping or failure is None:
                break
            if up_since is not None and time.monotonic() - up_since >= self.settings.restart_cap:
                attempt = 0  # it ran well for a while: start the backoff over
            delay = self.backoff.delay(attempt)
            attempt += 1
            state = (
                HealthState.DOWN if attempt >= self.settings.down_after else HealthState.DEGRADED
            )
            self.update(
                state=state, detail="", last_error=failure, next_retry_at=time.time() + delay
            )
            await asyncio.sleep(delay)
            self.restarts += 1
            self.update(restarts=self.restarts)
        self.update(state=HealthState.STOPPED, detail="", next_retry_at=None)

    async def _run_instance(self) -> str | None:
        """Start an instance and wait until it fails (its error) or is stopped (None)."""
        self._up_since = None
        self.starting = True
        known = self.runtime.desk.channel(self.name)
        if known is not None and known.state == HealthState.DOWN:
            # Down stays down while it tries again: a start that hangs would
            # otherwise show "starting" nearly all the time, and never "down".
            self.update(detail="trying to start again", next_retry_at=None)
        else:
            self.update(state=HealthState.STARTING, next_retry_at=None)
        self.context = self.runtime.new_context(self)
        try:
            self.instance = self.cls(self.context)
            capabilities = self.instance.capabilities
            if capabilities != self.runtime.desk.channel(self.name).capabilities:
                # Capabilities that depend on options are known once an instance exists.
                self.update(capabilities=capabilities)
            await asyncio.wait_for(self.instance.start(), self.settings.start_timeout)
        except TimeoutError:
            limit = self.settings.start_timeout
            log.warning("channel %s: start() did not return within %g s", self.name, limit)
            return f"start() did not return within {limit:g} s"
        except PluginConfigError:
            raise
        except Exception as exc:
            log.warning("channel %s: start() failed", self.name, exc_info=True)
            return _describe(exc)
        if self._failure is not None:  # a spawned task crashed during start
            return self._failure
        # A channel that serves pages is not up until its server listens; a
        # failure here is retried with the channel's backoff.
        problem = await self.runtime.ensure_http()
        if problem is not None and self.cls.needs_http:
            return problem
        self.up = True
        self.starting = False
        self._up_since = time.monotonic()
        self.runtime.desk.outbox_wakeup.set()  # replies waiting for this channel go now
        health = _safe_health(self.instance)
        self.update(
            state=HealthState.UP if health.state == HealthState.STARTING else health.state,
            detail=health.detail,
            next_retry_at=None,
        )
        await self._failed.wait()
        return self._failure

    async def _teardown(self) -> None:
        instance, context = self.instance, self.context
        self.instance = self.context = None
        if instance is not None:
            try:
                await asyncio.wait_for(instance.stop(), self.settings.stop_timeout)
            except TimeoutError:
                log.warning("channel %s: stop() did not return in time", self.name)
            except Exception:
                log.exception("channel %s: stop() failed", self.name)
        if context is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(context.close(), self.settings.stop_timeout)
        if self.runtime.http is not None:
            self.runtime.http.remove_channel_routes(self.name)

    def on_report(self, health: Health) -> None:
        if self.up and health.state in (HealthState.UP, HealthState.DEGRADED, HealthState.DOWN):
            self.update(state=health.state, detail=health.detail)

    def on_crash(self, error: BaseException) -> None:
        if self.instance is not None and not self.up:
            self._failure = f"a background task crashed: {_describe(error)}"
            return
        self.fail(f"a background task crashed: {_describe(error)}")

    def unavailable(self) -> str | None:
        if self.instance is None or not self.up:
            return f"channel {self.name} is not running"
        return None

    async def send(self, outbound: Outbound) -> Delivery:
        instance = self.instance
        if instance is None or not self.up:
            raise ChannelConnectionError(f"channel {self.name} is not running")
        limit = self.settings.send_timeout
        try:
            async with asyncio.timeout(limit) as deadline:
                return await instance.send(outbound)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.fail(f"send() did not return within {limit:g} s")
            raise TemporaryDeliveryError(
                f"channel {self.name} did not answer in {limit:g} s"
            ) from None

    async def call_back(self, to: str, agent: str, key: str) -> str:
        """The running instance places a call; its refusal, a timeout or a
        fault becomes a ``DeskError`` the agent reads (nothing is retried)."""
        instance = self.instance
        if instance is None or not self.up:
            raise _cannot_call(f"{self.name} is not running: try again once it is up")
        limit = self.settings.send_timeout
        try:
            said = await asyncio.wait_for(instance.call_back(to, agent=agent, key=key), limit)
        except TimeoutError:
            raise _cannot_call(f"{self.name} did not place the call within {limit:g} s") from None
        except (PermanentDeliveryError, TemporaryDeliveryError, ChannelConnectionError) as exc:
            raise _cannot_call(f"{self.name}: {clean_text(str(exc), 300)}") from None
        except Exception:
            log.exception("channel %s: call_back failed", self.name)
            raise _cannot_call(f"{self.name} failed to place the call (see the log)") from None
        return clean_text(str(said), 300).strip() or f"calling {to}"

    def refuse(self, to: str, text: str) -> str | None:
        """The running instance's ``refuse``, on the store's thread; one that
        fails or answers nonsense refuses nothing (``send`` will tell)."""
        instance = self.instance
        if instance is None or not self.up:
            return None
        try:
            said = instance.refuse(to, text)
        except Exception:
            log.exception("channel %s: refuse failed", self.name)
            return None
        if said is not None and not isinstance(said, str):
            log.warning("channel %s: refuse returned %r, not text or None", self.name, said)
            return None
        # Shown to agents: cleaned like any text that did not come from us.
        return (clean_text(said, 300).strip() or None) if said else None

    async def send_typing(self, to: str, typing: bool) -> None:
        """Relay an agent's typing; a channel that fails at it is not degraded
        (it is cosmetic), only logged."""
        instance = self.instance
        if instance is not None and self.up:
            await self._cosmetic("send_typing", instance.send_typing(to, typing))

    async def mark_read(self, to: str, external_ids: tuple[str, ...]) -> None:
        """Send a read receipt: cosmetic as typing is."""
        instance = self.instance
        if instance is not None and self.up:
            await self._cosmetic("mark_read", instance.mark_read(to, external_ids))

    async def _cosmetic(self, what: str, call: Awaitable[None]) -> None:
        try:
            await asyncio.wait_for(call, self.settings.send_timeout)
        except Exception as exc:
            log.warning("channel %s: %s failed: %r", self.name, what, exc)

    async def handoff_in(self, handoff: HandoffContext) -> Outbound | None:
        instance = self.instance
        if instance is None or not self.up:
            return None
        try:
            return await asyncio.wait_for(instance.handoff_in(handoff), self.settings.send_timeout)
        except Exception:
            log.exception("channel %s: handoff_in failed", self.name)
            return None

    async def shutdown(self) -> None:
        self._stopping = True
        task = self.task
        if task is None or task.done():
            return
        if self.up:
            self._failed.set()  # _run_instance returns; run() tears down and ends
            try:
                await asyncio.wait_for(asyncio.shield(task), self.settings.stop_timeout * 2)
                return
            except TimeoutError:
                pass
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._teardown()
        self.update(state=HealthState.STOPPED, detail="", next_retry_at=None)


def _cannot_call(why: str) -> DeskError:
    return DeskError(why, ErrorCode.CHANNEL_UNAVAILABLE)


def _safe_health(channel: Channel) -> Health:
    try:
        health = channel.health()
    except Exception as exc:
        return Health(HealthState.DEGRADED, f"health() failed: {_describe(exc)}")
    return health if isinstance(health, Health) else Health(HealthState.UP)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
