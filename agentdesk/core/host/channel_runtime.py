"""Running the configured channels.

``ChannelRuntime`` turns each ``[[channels]]`` table into a channel kept
running by a ``ChannelSupervisor`` (see ``channel_supervisor``), registers
its status with the desk, drains each channel's inbound queue into the desk,
runs the outbox dispatcher and the HTTP server, and answers the desk's
handoff requests. A table that names an unknown plugin or a wrong option
shows as a ``down`` channel with the message; the others run as usual.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from agentdesk.api import UNLOADED, ChannelStatus, DeskError, ErrorCode
from agentdesk.core.config import ChannelConfig, Config
from agentdesk.plugin import (
    ChannelConnectionError,
    Delivery,
    HandoffContext,
    HealthState,
    Outbound,
    PluginConfigError,
)
from agentdesk.plugin.http_defaults import shared_ssl_context

from .backoff import Backoff
from .channel_supervisor import ChannelSupervisor, RuntimeSettings
from .discovery import PluginCatalog, discover, resolve_channel
from .enrichment import EnrichmentRuntime
from .http_server import DeskHttpServer
from .outbox_dispatch import OutboxDispatcher
from .plugin_context import DeskPluginContext, InboundPump
from .survey_pages import add_survey_routes

log = logging.getLogger("agentdesk.channels")


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
        self.enrichment: EnrichmentRuntime | None = None

    async def start(self) -> None:
        """Start every enabled channel; a channel that cannot load shows as down."""
        if self.catalog is None:
            self.catalog = await asyncio.to_thread(discover, self.config.plugin_paths)
        await asyncio.to_thread(shared_ssl_context)  # so http_client() never blocks the loop
        self.enrichment = EnrichmentRuntime(
            self.desk,
            self.config,
            catalog=self.catalog,
            data_root=self.data_root.parent / "enrichers",
        )
        await self.enrichment.start()
        self.http.expect_channels([c.name for c in self.config.channels if c.enabled])
        for channel in self.config.channels:
            if channel.enabled:
                self._add(channel)
        links = self.desk.surveys.enabled and any(
            s.cls.capabilities.survey_form == "link" for s in self.supervisors.values()
        )
        if links:  # email surveys link to pages of the desk's HTTP server
            add_survey_routes(self.http, self.desk)
        if links or any(s.cls.needs_http for s in self.supervisors.values()):
            await self.ensure_http(force=True)
            self.desk.survey_links = self.http.base_url
        for supervisor in self.supervisors.values():
            supervisor.task = asyncio.create_task(
                supervisor.run(), name=f"supervise-{supervisor.name}"
            )
        for name, pump in self.pumps.items():
            self._tasks.append(asyncio.create_task(pump.run(), name=f"ingest-{name}"))
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox"))
        self.desk.set_handoff_gateway(self.handoff)
        self.desk.set_typing_gateway(self.send_typing)
        self.desk.set_read_gateway(self.mark_read)
        self.desk.set_refusal_gateway(self.refuse)
        self.desk.set_call_gateway(self.call_back)

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
                    channel.name, channel.plugin, UNLOADED, HealthState.DOWN, last_error=str(exc)
                )
            )
            return
        self.desk.declare_identity_kinds(cls.identity_kinds)
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

    async def ensure_http(self, *, force: bool = False) -> str | None:
        """Start the HTTP server when a channel needs it or has registered routes.

        Returns why it could not listen, or None when it runs (or is not needed).
        """
        if self.http.running or not (force or self.http.has_channel_routes()):
            return None
        address = f"{self.config.http.host}:{self.config.http.port}"
        try:
            url = await self.http.start()
        except OSError as exc:
            problem = f"the HTTP server cannot listen on {address}: {exc.strerror or exc}"
            log.error("%s", problem)
            return problem
        self._http_started_by_us = True
        log.info("HTTP server listening at %s", url)
        return None

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

    async def send_typing(self, channel: str, to: str, typing: bool) -> None:
        supervisor = self.supervisors.get(channel)
        if supervisor is not None:
            await supervisor.send_typing(to, typing)

    async def mark_read(self, channel: str, to: str, external_ids: tuple[str, ...]) -> None:
        supervisor = self.supervisors.get(channel)
        if supervisor is not None:
            await supervisor.mark_read(to, external_ids)

    async def call_back(self, channel: str, to: str, agent: str, key: str) -> str:
        supervisor = self.supervisors.get(channel)
        if supervisor is None:
            raise DeskError(f"channel {channel} is not running here", ErrorCode.CHANNEL_UNAVAILABLE)
        return await supervisor.call_back(to, agent, key)

    def refuse(self, channel: str, to: str, text: str) -> str | None:
        """Whether ``channel`` refuses a reply before it is queued (on the store's thread)."""
        supervisor = self.supervisors.get(channel)
        return None if supervisor is None else supervisor.refuse(to, text)

    async def stop(self) -> None:
        """Stop channels, hand what they queued to the desk, stop the dispatcher and server."""
        self.desk.set_handoff_gateway(None)
        self.desk.set_typing_gateway(None)
        self.desk.set_refusal_gateway(None)
        self.desk.set_call_gateway(None)
        if self.enrichment is not None:
            await self.enrichment.stop()
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
