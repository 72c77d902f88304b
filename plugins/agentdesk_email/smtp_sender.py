"""Handing a message to the SMTP server (smtplib, run in a worker thread).

Failures become the plugin API's typed errors: a 5xx answer about the
recipient or the message is permanent; anything the server or the network
may get over (4xx, timeouts, refused connections, authentication that an
administrator can fix) is temporary, so the outbox retries.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

from .settings import ServerSettings


class SmtpSender:
    """Sends one message per connection; each call runs in a thread."""

    def __init__(
        self,
        server: ServerSettings,
        *,
        ssl_context: Callable[[], ssl.SSLContext],
        timeout: float,
        local_hostname: str | None = None,
    ) -> None:
        self._server = server
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._local_hostname = local_hostname

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> str:
        """Deliver ``message``; returns the server's final reply text."""
        return await asyncio.to_thread(self._send_blocking, message, sender, recipients)

    def _send_blocking(self, message: EmailMessage, sender: str, recipients: list[str]) -> str:
        server = self._server
        try:
            with self._open() as smtp:
                if server.security == "starttls":
                    smtp.starttls(context=self._ssl_context())
                smtp.ehlo_or_helo_if_needed()
                # A relay that offers no AUTH (a local MTA) takes mail without a login.
                if server.username and smtp.has_extn("auth"):
                    smtp.login(server.username, server.password)
                refused = smtp.send_message(message, from_addr=sender, to_addrs=recipients)
                if refused:
                    raise _recipient_error(refused)
                return "accepted"
        except (PermanentDeliveryError, TemporaryDeliveryError):
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise _recipient_error(exc.recipients) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryDeliveryError(
                f"SMTP login refused ({exc.smtp_code} {_text(exc.smtp_error)}): check the "
                "username and password of this channel"
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(text) from None
            raise TemporaryDeliveryError(text) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TemporaryDeliveryError(f"SMTP server does not support a step: {exc}") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise TemporaryDeliveryError(
                f"cannot reach SMTP server {server.host}:{server.port}: {exc}"
            ) from None

    def _open(self) -> smtplib.SMTP:
        server = self._server
        if server.security == "tls":
            return smtplib.SMTP_SSL(
                server.host,
                server.port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=self._ssl_context(),
            )
        return smtplib.SMTP(
            server.host, server.port, local_hostname=self._local_hostname, timeout=self._timeout
        )


def _recipient_error(
    refused: dict[str, tuple[int, bytes]],
) -> PermanentDeliveryError | TemporaryDeliveryError:
    parts = [f"{address}: {code} {_text(reason)}" for address, (code, reason) in refused.items()]
    detail = "recipient refused (" + "; ".join(parts) + ")"
    if all(500 <= code < 600 for code, _ in refused.values()):
        return PermanentDeliveryError(detail)
    return TemporaryDeliveryError(detail)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
