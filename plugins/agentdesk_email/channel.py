"""The email channel: one IMAP mailbox in, SMTP out."""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

from agentdesk.plugin import (
    Capabilities,
    Channel,
    Delivery,
    Health,
    HealthState,
    Option,
    Outbound,
    PluginContext,
)

from .compose import build_message, header_problems, recipient
from .inbound import FetchedMail
from .mailbox_reader import MailboxReader
from .settings import OPTIONS, build_settings
from .smtp_sender import SmtpSender
from .threading_refs import message_id_for
from .workers import Converter

#: Plugin state key of the replies already handed to the SMTP server: {outbox key: Message-ID}.
SENT_KEY = "smtp:sent"
#: How many sent keys are remembered; the outbox retries a reply long before
#: this many newer replies went out.
SENT_MEMORY = 2000
#: Seconds ``stop`` waits for the reader to end before closing its connection.
STOP_GRACE = 2.0


class EmailChannel(Channel):
    """Reads one IMAP mailbox (IDLE or polling) and replies over SMTP, threaded."""

    plugin = "email"
    version = "1.0"
    description = "An email mailbox: IMAP in (IDLE or polling), SMTP out, threaded replies"
    capabilities = Capabilities(
        kind="email",
        identity_kind="email",
        threading=True,
        attachments=True,
        realtime=False,
        survey_form="link",
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)
        self._reader = MailboxReader(self.settings, context, self._handle, self._set_health)
        self._sender = SmtpSender(
            self.settings.smtp,
            ssl_context=self.settings.ssl_context,
            timeout=self.settings.timeout,
            local_hostname=self.settings.message_id_domain,
        )
        self._converter = Converter(self.settings, context.data_dir, context.logger)
        self._task: asyncio.Task[None] | None = None
        self._health = Health(HealthState.STOPPED)
        self._in_flight: dict[str, asyncio.Future[Delivery]] = {}

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._set_health(Health(HealthState.STARTING, f"connecting to {self.settings.imap.host}"))
        self._reader.begin_start()
        try:
            client = await self._reader.connect()
        except Exception as exc:
            self._set_health(Health(HealthState.DEGRADED, str(exc)))
            raise
        self._task = self.context.spawn(
            self._reader.run(client), name=f"email-{self.context.channel_name}"
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._reader.begin_stop()
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
            if not done:  # belt and braces: a closed socket ends any pending read
                self._reader.abort()
                await asyncio.wait({task}, timeout=STOP_GRACE)
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.result()  # retrieved, so asyncio does not log it as lost
        await self._reader.close()
        if self._health.state != HealthState.STOPPED:
            self._set_health(Health(HealthState.STOPPED))

    def health(self) -> Health:
        return self._health

    def _set_health(self, health: Health) -> None:
        self._health = health
        self.context.report(health)

    # -- inbound -----------------------------------------------------------------

    async def _handle(self, fetched: FetchedMail) -> bool:
        log = self.context.logger
        try:
            outcome = await self._converter.convert(fetched)
        except Exception:
            log.exception("message UID %s could not be read; left in the mailbox", fetched.uid)
            return False
        if outcome.problems:
            log.warning("message UID %s: %s", fetched.uid, "; ".join(outcome.problems))
        if outcome.message is None:
            log.info("message UID %s skipped: %s", fetched.uid, outcome.skipped)
            return False
        await self.context.emit(outcome.message)
        return True

    # -- outbound ----------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        """Send a reply once per ``outbound.key``: a retry of a key already sent
        returns the first Delivery; a concurrent retry waits for the first try."""
        recipient(outbound.to, outbound.customer_name)  # PermanentDeliveryError when unusable
        sent = self.context.state.get(SENT_KEY) or {}
        if outbound.key in sent:
            return Delivery(external_id=sent[outbound.key], detail="already sent")
        running = self._in_flight.get(outbound.key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._in_flight[outbound.key] = future
        try:
            delivery = await self._send_once(outbound)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged
            raise
        else:
            future.set_result(delivery)
            return delivery
        finally:
            del self._in_flight[outbound.key]

    async def _send_once(self, outbound: Outbound) -> Delivery:
        settings = self.settings
        message_id = message_id_for(outbound.key, outbound.task_number, settings.message_id_domain)
        message = build_message(
            outbound,
            message_id=message_id,
            from_address=settings.address,
            from_name=settings.display_name,
        )
        for problem in header_problems(outbound):
            self.context.logger.warning("reply %s: %s", outbound.key, problem)
        await self._sender.send(message, settings.address, [outbound.to.strip()])
        await self._remember_sent(outbound.key, message_id)
        return Delivery(external_id=message_id, state="sent")

    async def _remember_sent(self, key: str, message_id: str) -> None:
        sent = dict(self.context.state.get(SENT_KEY) or {})
        sent[key] = message_id
        while len(sent) > SENT_MEMORY:
            sent.pop(next(iter(sent)))
        await self.context.state.set(SENT_KEY, sent)
