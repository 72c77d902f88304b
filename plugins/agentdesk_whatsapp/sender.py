"""Sending one reply, once per outbox key.

The Cloud API takes no idempotency key, so the channel's ``DeliveryLedger``
keeps one: the key is begun (durably) before the request, done with the
wamid after it, and forgotten when Meta certainly refused it. Each message
also carries its key in ``biz_opaque_callback_data``, which Meta echoes in
the message's statuses: that is how a send whose answer never came (a
timeout, a crash) is found out. Its retry waits ``STATUS_WAIT`` seconds for
such a status before sending again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from agentdesk.plugin import (
    Delivery,
    DeliveryError,
    DeliveryLedger,
    DeliveryRecord,
    Outbound,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

from .failures import MetaBusy
from .graph import AmbiguousSend, GraphApi
from .identity import wa_id
from .settings import MAX_TEXT, WhatsAppSettings

#: Seconds a send that got no answer waits for a status naming its key (Meta
#: reports "sent" within seconds of taking a message) before it is sent again.
STATUS_WAIT = 120.0
#: Meta echoes at most this many characters of biz_opaque_callback_data.
_OPAQUE_MAX = 512


class Sender:
    def __init__(
        self,
        settings: WhatsAppSettings,
        ledger: DeliveryLedger,
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.logger = logger
        self.clock = clock
        self.api: GraphApi | None = None
        self._in_flight: dict[str, asyncio.Future[Delivery]] = {}

    async def send(self, outbound: Outbound) -> Delivery:
        record = self.ledger.get(outbound.key)
        if record is not None and record.external_id is not None:
            # Sent already: whatever changed since (a template removed) changes nothing.
            return Delivery(external_id=record.external_id, detail="already sent")
        to, payload, detail = self.message(outbound)
        running = self._in_flight.get(outbound.key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._in_flight[outbound.key] = future
        try:
            delivery = await self._send_once(outbound.key, to, payload, detail, record)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure nobody else awaited is not logged
            raise
        else:
            future.set_result(delivery)
            return delivery
        finally:
            del self._in_flight[outbound.key]

    async def _send_once(
        self,
        key: str,
        to: str,
        payload: dict[str, Any],
        detail: str,
        earlier: DeliveryRecord | None,
    ) -> Delivery:
        api = self.api
        if api is None:
            raise TemporaryDeliveryError("the WhatsApp channel is not running")
        if earlier is not None:
            # A send of this key began and no answer came: Meta may have it. Its
            # statuses would have named the key by now (see ``Receiver``).
            waited = self.clock() - earlier.began
            if waited < STATUS_WAIT:
                raise AmbiguousSend(
                    "the last try may have reached WhatsApp; waiting for its status "
                    f"before sending again (up to {STATUS_WAIT - waited:.0f} s more)"
                )
            self.logger.warning(
                "reply %s: no status came for the try %.0f s ago; sending it again", key, waited
            )
        await self.ledger.begin(key)
        try:
            answer = await api.post_message(payload, to=to)
        except AmbiguousSend:
            raise  # the key stays begun: the retry waits for a status first
        except MetaBusy as exc:
            if not exc.maybe_sent:
                await self.ledger.forget(key)
            raise
        except DeliveryError:
            await self.ledger.forget(key)  # refused or never arrived: nothing was made
            raise
        wamid = _message_id(answer)
        if wamid is None:
            # Meta said yes but not to what: the message may well exist.
            raise AmbiguousSend("WhatsApp's answer names no message id")
        await self.ledger.done(key, wamid)
        return Delivery(external_id=wamid, detail=detail)

    def message(self, outbound: Outbound) -> tuple[str, dict[str, Any], str]:
        """The recipient, the Cloud API's JSON and a detail line for ``outbound``;
        PermanentDeliveryError when it cannot be a WhatsApp message."""
        if not outbound.to.strip():
            raise PermanentDeliveryError("the reply has no WhatsApp number to go to")
        to = wa_id(outbound.to)
        if to is None:
            raise PermanentDeliveryError(
                f"{outbound.to[:40]!r} is not a WhatsApp number: it needs the country code "
                "(like 33612345678)"
            )
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        }
        if outbound.template is not None:
            payload["type"] = "template"
            payload["template"], detail = self._template(outbound)
        else:
            if not outbound.text.strip():
                raise PermanentDeliveryError("the reply is empty")
            if len(outbound.text) > MAX_TEXT:
                raise PermanentDeliveryError(
                    f"the reply is {len(outbound.text)} characters; a WhatsApp message "
                    f"takes at most {MAX_TEXT}"
                )
            payload["type"] = "text"
            payload["text"] = {"preview_url": False, "body": outbound.text}
            detail = ""
        if len(outbound.key) <= _OPAQUE_MAX:
            payload["biz_opaque_callback_data"] = outbound.key
        return to, payload, detail

    def _template(self, outbound: Outbound) -> tuple[dict[str, Any], str]:
        name = outbound.template or ""
        template = self.settings.template(name)
        if template is None:
            known = ", ".join(t.name for t in self.settings.templates) or "none"
            raise PermanentDeliveryError(
                f"{name[:60]!r} is not one of this channel's templates (it has: {known})"
            )
        values = outbound.template_params
        if len(values) != len(template.parameters):
            raise PermanentDeliveryError(
                f"the template {name} takes {len(template.parameters)} parameters "
                f"({', '.join(template.parameters) or 'none'}), got {len(values)}"
            )
        for number, (label, value) in enumerate(zip(template.parameters, values, strict=True), 1):
            if not value.strip():
                raise PermanentDeliveryError(f"the template's {label} ({{{{{number}}}}}) is empty")
            if "\n" in value or "\t" in value or "     " in value:
                raise PermanentDeliveryError(
                    f"the template's {label} ({{{{{number}}}}}) has a line break, a tab or "
                    "more than four spaces in a row, which WhatsApp refuses in a parameter"
                )
        body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if values:
            body["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}
            ]
        return body, f"template {template.name} ({template.language})"


def _message_id(answer: Any) -> str | None:
    messages = answer.get("messages") if isinstance(answer, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    found = first.get("id") if isinstance(first, dict) else None
    return found if isinstance(found, str) and found else None
