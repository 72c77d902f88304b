"""Exceptions a plugin raises, and what the desk does with each."""

from __future__ import annotations


class PluginError(Exception):
    """Base of every error a plugin reports to the desk."""


class PluginConfigError(PluginError):
    """The channel's options are wrong. The desk reports it and does not start the channel."""


class ChannelConnectionError(PluginError):
    """The service behind the channel cannot be reached now. The channel is
    marked degraded and restarted with backoff."""


class DeliveryError(PluginError):
    """``send`` could not deliver. ``temporary`` says whether retrying may help."""

    temporary: bool = True

    def __init__(self, message: str, *, temporary: bool | None = None) -> None:
        super().__init__(message)
        if temporary is not None:
            self.temporary = temporary


class TemporaryDeliveryError(DeliveryError):
    """Retry later: the outbox keeps the message and tries again with backoff."""

    temporary = True


class PermanentDeliveryError(DeliveryError):
    """Never retry (invalid address, message refused): the reason is shown on the message."""

    temporary = False


class LookupUnavailable(PluginError):
    """An enricher's CRM cannot answer now (down, slow, rate limited).

    The message is a few words the agent reads after "CRM unavailable", such
    as ``"timeout"`` or ``"rate limited, retry in 30 s"``; the desk keeps the
    fields it had cached and asks again later. Never put a secret in it.
    """
