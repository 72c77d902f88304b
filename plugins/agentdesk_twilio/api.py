"""The two calls of Twilio's REST API the SMS channel makes: create a message,
and list the latest messages to a number (to find out whether a send that
timed out reached Twilio after all)."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import Any

import httpx

from agentdesk.plugin import TemporaryDeliveryError

from .failures import read_error
from .rest import API_VERSION, AmbiguousSend, TwilioRest, json_of, reason
from .settings import TwilioSettings

__all__ = ["API_VERSION", "RECENT_PAGE", "AmbiguousSend", "SentMessage", "TwilioApi"]

#: Messages to one number looked at when checking for a send that timed out.
RECENT_PAGE = 20
_NOT_TWICE = "the reply is retried, and not sent twice"


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
        self.rest = TwilioRest(settings.account, client)
        self.messages_url = self.rest.url("Messages.json")

    async def create_message(self, form: dict[str, str]) -> SentMessage:
        """POST the message; raises ``AmbiguousSend`` when Twilio may have it without
        our knowing, and the mapped typed error when Twilio refused it."""
        answer = await self.rest.create(
            "Messages.json", form, to=form.get("To", ""), what="message", retry_note=_NOT_TWICE
        )
        try:
            return SentMessage.from_json(answer)
        except ValueError as exc:
            # Twilio said yes but not to what: the message may well exist.
            raise AmbiguousSend(f"{exc}; {_NOT_TWICE}") from None

    async def recent_messages(self, to: str) -> list[SentMessage]:
        """The latest messages this account sent to ``to``, newest first."""
        params = {"To": to, "PageSize": str(RECENT_PAGE)}
        if self.settings.from_number:
            params["From"] = self.settings.from_number
        try:
            response = await self.client.get(
                self.messages_url, params=params, auth=self.rest.auth()
            )
        except httpx.TransportError as exc:
            raise TemporaryDeliveryError(
                f"could not check with Twilio whether the reply went out: {reason(exc)}"
            ) from exc
        if response.status_code != 200:
            error = read_error(response.status_code, json_of(response))
            raise TemporaryDeliveryError(
                "could not check with Twilio whether the reply went out "
                f"(HTTP {error.status}{f', Twilio {error.code}' if error.code else ''})"
            )
        listed = json_of(response)
        items = listed.get("messages") if isinstance(listed, dict) else None
        if not isinstance(items, list):
            raise TemporaryDeliveryError("Twilio's message list has no messages")
        try:
            return [SentMessage.from_json(item) for item in items]
        except ValueError as exc:
            raise TemporaryDeliveryError(str(exc)) from None
