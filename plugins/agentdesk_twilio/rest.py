"""Twilio's REST API as every channel of this package calls it: the account's
resources under ``/2010-04-01/Accounts/{Sid}/``, HTTP Basic login, form posts,
and Twilio's refusals turned into the plugin API's typed errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from agentdesk.plugin import ChannelConnectionError, TemporaryDeliveryError

from .account import TwilioAccount
from .failures import delivery_error, read_error, retry_after_seconds

API_VERSION = "2010-04-01"

#: A form as httpx posts it; a list value repeats the field (StatusCallbackEvent).
Form = Mapping[str, str | Sequence[str]]


class AmbiguousSend(TemporaryDeliveryError):
    """The request may have reached Twilio but no answer came back: whether the
    message (or call) exists is checked, or the retry refused, before trying again."""


class TwilioRest:
    """One account's resources, with its login; failures become typed errors."""

    def __init__(self, account: TwilioAccount, client: httpx.AsyncClient) -> None:
        self.account = account
        self.client = client
        self.base = (
            f"{account.api_base_url}/{API_VERSION}/Accounts/{quote(account.account_sid, safe='')}"
        )

    def url(self, resource: str) -> str:
        """The URL of a resource of the account (``Messages.json``, ``Calls.json``)."""
        return f"{self.base}/{resource}"

    def auth(self) -> httpx.BasicAuth:
        user, password = self.account.api_login
        return httpx.BasicAuth(user, password)

    async def create(
        self, resource: str, form: Form, *, to: str, what: str, retry_note: str
    ) -> Any:
        """POST ``form`` to make a resource; its JSON on 200/201.

        Raises ``ChannelConnectionError`` when nothing reached Twilio,
        ``AmbiguousSend`` (ending with ``retry_note``) when it may have, and
        the mapped typed error of Twilio's refusal of the ``what`` to ``to``.
        """
        try:
            response = await self.client.post(self.url(resource), data=form, auth=self.auth())
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Twilio: trying again is safe.
            raise ChannelConnectionError(f"Twilio cannot be reached: {reason(exc)}") from exc
        except httpx.TransportError as exc:
            raise AmbiguousSend(
                f"Twilio did not answer in time ({reason(exc)}); {retry_note}"
            ) from exc
        if response.status_code in (200, 201):
            return json_of(response)
        raise delivery_error(
            read_error(response.status_code, json_of(response)),
            to,
            retry_after_seconds(response.headers.get("retry-after")),
            what=what,
        )


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
