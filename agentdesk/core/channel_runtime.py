"""Running the configured channels under supervision.

``ChannelRuntime`` turns each ``[[channels]]`` table into a supervised channel
instance, registers its status with the desk, runs the outbox dispatcher and
answers the desk's handoff requests. The supervisor of a channel:

- starts a fresh instance with a fresh ``PluginContext``;
- treats an exception from ``start``, a crashed task started with
  ``context.spawn``, or a ``send`` that hangs past the send timeout as a
  failure: the instance is stopped, the channel shows ``degraded`` (``down``
  after several failures in a row) with the error and the time of the next
  try, and a new instance starts after a capped exponential backoff with
  jitter;
- never restarts a channel whose options are wrong (``PluginConfigError``):
  it stays ``down`` with the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdesk.plugin import (
    Capabilities,
    Channel,
    ChannelConnectionError,
    Delivery,
    HandoffContext,
    Health,
    HealthState,
    Outbound,
    PluginConfigError,
    TemporaryDeliveryError,
)
from agentdesk.plugin.http_defaults import shared_ssl_context

from .backoff import Backoff
from .client import ChannelStatus
from .config import ChannelConfig, Config
from .discovery import PluginCatalog, discover, resolve_channel
from .http_server import DeskHttpServer
from .outbox_dispatch import OutboxDispatcher
from .plugin_context import DeskPluginContext, InboundPump

log = logging.getLogger("agentdesk.channels")

_UNKNOWN = Capabilities(kind="unknown", identity_kind="unknown", inbound=False, outbound=False)


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
            return f"start() did not return within {self.settings.start_timeout:g} s"
        except PluginConfigError:
            raise
        except Exception as exc:
            return _describe(exc)
        if self._failure is not None:  # a spawned task crashed during start
            return self._failure
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
        await self.runtime.ensure_http()
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


class ChannelRuntime:
    """Every configured channel, supervised, plus the outbox dispatcher and HTTP server."""

    def __init__(
        self,
        desk: Any,
        config: Config,
        *,
        catalog: PluginCatalog | None = None,
        settings: RuntimeSettings | None = None,
        http: DeskHttpServer | None = None,
        data_root: Path | None = None,
    ) -> None:
        self.desk = desk
        self.config = config
        self.catalog = catalog
        self.settings = settings or RuntimeSettings.from_config(config)
        self.http = http if http is not None else DeskHttpServer(config.http)
        self.data_root = data_root or Path(config.store) / "channels"
        self.supervisors: dict[str, ChannelSupervisor] = {}
        self.pumps: dict[str, InboundPump] = {}
        self.dispatcher = OutboxDispatcher(
            desk, self, backoff=Backoff(self.settings.restart_base, self.settings.restart_cap * 5)
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._http_started_by_us = False

    async def start(self) -> None:
        """Start every enabled channel; a channel that cannot load shows as down."""
        if self.catalog is None:
            self.catalog = await asyncio.to_thread(discover, self.config.plugin_paths)
        await asyncio.to_thread(shared_ssl_context)  # so http_client() never blocks the loop
        for channel in self.config.channels:
            if channel.enabled:
                self._add(channel)
        if any(s.cls.needs_http for s in self.supervisors.values()):
            await self.ensure_http(force=True)
        for supervisor in self.supervisors.values():
            supervisor.task = asyncio.create_task(
                supervisor.run(), name=f"supervise-{supervisor.name}"
            )
        for name, pump in self.pumps.items():
            self._tasks.append(asyncio.create_task(pump.run(), name=f"ingest-{name}"))
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox"))
        self.desk.set_handoff_gateway(self.handoff)

    def _add(self, channel: ChannelConfig) -> None:
        where = f"{self.config.source}: channels[{channel.index}]"
        assert self.catalog is not None
        try:
            cls, options = resolve_channel(
                self.catalog, channel.plugin, channel.options, where=where
            )
        except PluginConfigError as exc:
            log.error("%s", exc)
            self.desk.register_channel(
                ChannelStatus(
                    channel.name, channel.plugin, _UNKNOWN, HealthState.DOWN, last_error=str(exc)
                )
            )
            return
        self.desk.register_channel(ChannelStatus(channel.name, channel.plugin, cls.capabilities))
        pump = InboundPump(self.desk, channel.name, maxsize=self.settings.queue_size)
        self.pumps[channel.name] = pump
        self.supervisors[channel.name] = ChannelSupervisor(self, channel.name, cls, options, pump)

    def new_context(self, supervisor: ChannelSupervisor) -> DeskPluginContext:
        data_dir = self.data_root / supervisor.name
        data_dir.mkdir(parents=True, exist_ok=True)
        return DeskPluginContext(
            name=supervisor.name,
            options=supervisor.options,
            desk=self.desk,
            pump=supervisor.pump,
            data_dir=data_dir,
            http=self.http,
            on_report=supervisor.on_report,
            on_crash=supervisor.on_crash,
        )

    async def ensure_http(self, *, force: bool = False) -> None:
        """Start the HTTP server when a channel needs it or has registered routes."""
        if self.http.running or not (force or self.http.has_channel_routes()):
            return
        try:
            url = await self.http.start()
        except OSError as exc:
            log.error(
                "the HTTP server cannot listen on %s:%s: %s",
                self.config.http.host,
                self.config.http.port,
                exc,
            )
            return
        self._http_started_by_us = True
        log.info("HTTP server listening at %s", url)

    # -- what the desk and the dispatcher call ------------------------------

    def can_send(self, channel: str) -> str | None:
        supervisor = self.supervisors.get(channel)
        if supervisor is None:
            return f"no channel named {channel} is running"
        return supervisor.unavailable()

    def starting(self, channel: str) -> bool:
        supervisor = self.supervisors.get(channel)
        return supervisor is not None and supervisor.starting

    async def send(self, channel: str, outbound: Outbound) -> Delivery:
        supervisor = self.supervisors.get(channel)
        if supervisor is None:
            raise ChannelConnectionError(f"no channel named {channel} is running")
        return await supervisor.send(outbound)

    async def handoff(self, channel: str, handoff: HandoffContext) -> Outbound | None:
        supervisor = self.supervisors.get(channel)
        return None if supervisor is None else await supervisor.handoff_in(handoff)

    async def stop(self) -> None:
        """Stop channels, hand what they queued to the desk, stop the dispatcher and server."""
        self.desk.set_handoff_gateway(None)
        await asyncio.gather(*(s.shutdown() for s in self.supervisors.values()))
        for pump in self.pumps.values():
            await pump.flush(self.settings.stop_timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._http_started_by_us:
            await self.http.stop()
            self._http_started_by_us = False


def _safe_health(channel: Channel) -> Health:
    try:
        health = channel.health()
    except Exception as exc:
        return Health(HealthState.DEGRADED, f"health() failed: {_describe(exc)}")
    return health if isinstance(health, Health) else Health(HealthState.UP)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
