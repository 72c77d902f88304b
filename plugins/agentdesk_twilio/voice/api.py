"""The one call of Twilio's REST API the voice channel makes: place a call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from ..account import TwilioAccount
from ..rest import AmbiguousSend, Form, TwilioRest

_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_NOT_TWICE = "the call back is not placed again"


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """A call resource as Twilio describes it when it has queued the call."""

    sid: str
    status: str
    to: str

    @classmethod
    def from_json(cls, data: Any) -> PlacedCall:
        sid = data.get("sid") if isinstance(data, dict) else None
        if not isinstance(sid, str) or _CALL_SID.fullmatch(sid) is None:
            raise ValueError("Twilio's answer has no call sid")
        return cls(sid, str(data.get("status") or ""), str(data.get("to") or ""))


class CallsApi:
    def __init__(self, account: TwilioAccount, client: httpx.AsyncClient) -> None:
        self.rest = TwilioRest(account, client)

    async def create_call(self, form: Form) -> PlacedCall:
        """POST the call; ``AmbiguousSend`` when Twilio may have placed it without our
        knowing, the mapped typed error when Twilio refused it."""
        to = form.get("To", "")
        answer = await self.rest.create(
            "Calls.json",
            form,
            to=to if isinstance(to, str) else "",
            what="call",
            retry_note=_NOT_TWICE,
        )
        try:
            return PlacedCall.from_json(answer)
        except ValueError as exc:
            raise AmbiguousSend(f"{exc}; {_NOT_TWICE}") from None
