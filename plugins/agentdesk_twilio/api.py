"""The two calls of Twilio's REST API the channel makes: create a message, and
list the latest messages to a number (to find out whether a send that timed
out reached Twilio after all)."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from agentdesk.plugin import ChannelConnectionError, TemporaryDeliveryError

from .failures import delivery_error, read_error, retry_after_seconds
from .settings import TwilioSettings

API_VERSION = "2010-04-01"
#: Messages to one number looked at when checking for a send that timed out.
RECENT_PAGE = 20


class AmbiguousSend(TemporaryDeliveryError):
    """The request may have reached Twilio but no answer came back: whether the
    message exists is checked before it is sent again."""


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message resource as Twilio describes it."""

    sid: str
    to: str
    body: str
    status: str
    #: When Twilio created it (Unix time), None when it did not say.
    created: float | None

    @classmethod
    def from_json(cls, data: Any) -> SentMessage:
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            raise ValueError("Twilio's answer has no message sid")
        created = None
        stamp = data.get("date_created")
        if isinstance(stamp, str) and stamp:
            try:
                created = email.utils.parsedate_to_datetime(stamp).timestamp()
            except (TypeError, ValueError):
                created = None
        return cls(
            sid=data["sid"],
            to=str(data.get("to") or ""),
            body=str(data.get("body") or ""),
            status=str(data.get("status") or ""),
            created=created,
        )


class TwilioApi:
    """Calls Twilio with the channel's login; turns failures into typed errors."""

    def __init__(self, settings: TwilioSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.messages_url = (
            f"{settings.api_base_url}/{API_VERSION}/Accounts/"
            f"{quote(settings.account_sid, safe='')}/Messages.json"
        )

    def _auth(self) -> httpx.BasicAuth:
        user, password = self.settings.api_login
        return httpx.BasicAuth(user, password)

    async def create_message(self, form: dict[str, str]) -> SentMessage:
        """POST the message; raises ``AmbiguousSend`` when Twilio may have it without
        our knowing, and the mapped typed error when Twilio refused it."""
        try:
            response = await self.client.post(self.messages_url, data=form, auth=self._auth())
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Twilio: sending again is safe.
            raise ChannelConnectionError(f"Twilio cannot be reached: {_reason(exc)}") from exc
        except httpx.TransportError as exc:
            raise AmbiguousSend(
                f"Twilio did not answer in time ({_reason(exc)}); the reply is retried, "
                "and not sent twice"
            ) from exc
        if response.status_code in (200, 201):
            try:
                return SentMessage.from_json(_json(response))
            except ValueError as exc:
                # Twilio said yes but not to what: the message may well exist.
                raise AmbiguousSend(f"{exc}; the reply is retried, and not sent twice") from None
        raise delivery_error(
            read_error(response.status_code, _json(response)),
            form.get("To", ""),
            retry_after_seconds(response.headers.get("retry-after")),
        )

    async def recent_messages(self, to: str) -> list[SentMessage]:
        """The latest messages this account sent to ``to``, newest first."""
        params = {"To": to, "PageSize": str(RECENT_PAGE)}
        if self.settings.from_number:
            params["From"] = self.settings.from_number
        try:
            response = await self.client.get(self.messages_url, params=params, auth=self._auth())
        except httpx.TransportError as exc:
            raise TemporaryDeliveryError(
                f"could not check with Twilio whether the reply went out: {_reason(exc)}"
            ) from exc
        if response.status_code != 200:
            error = read_error(response.status_code, _json(response))
            raise TemporaryDeliveryError(
                "could not check with Twilio whether the reply went out "
                f"(HTTP {error.status}{f', Twilio {error.code}' if error.code else ''})"
            )
        listed = _json(response)
        items = listed.get("messages") if isinstance(listed, dict) else None
        if not isinstance(items, list):
            raise TemporaryDeliveryError("Twilio's message list has no messages")
        try:
            return [SentMessage.from_json(item) for item in items]
        except ValueError as exc:
            raise TemporaryDeliveryError(str(exc)) from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
