"""Twilio's voice side, for the fake in ``twilio_api``: the calls the API made,
and players that drive a call's webhooks at a channel as Twilio does.

A player follows the TwiML the channel answers with, as Twilio would: it
posts the end of a ``<Dial>`` to the Dial's ``action``, a message left at a
``<Record>`` to its ``action`` and ``recordingStatusCallback``, and the
transcription to its ``transcribeCallback``; status callbacks go to the URL
pasted in the number's configuration (an incoming call) or to the
``StatusCallback`` given to the Calls API (a call back), for each event
asked for. Every request carries the standard voice parameters and a valid
``X-Twilio-Signature`` unless told otherwise.
"""

from __future__ import annotations

import email.utils
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .twilio_api import FakeTwilio

API_VERSION = "2010-04-01"
#: The events a StatusCallbackEvent may name (Twilio's Calls API).
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass
class FakeCall:
    """A call the Calls API placed."""

    sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None
    status_events: list[str]
    timeout: int
    created: float
    status: str = "queued"

    def resource(self, account_sid: str) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{self.sid}"
        stamp = email.utils.formatdate(self.created, usegmt=False)
        return {
            "account_sid": account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "start_time": None,
            "status": self.status,
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
            "to": self.to,
            "to_formatted": self.to,
            "uri": f"{uri}.json",
        }


@dataclass
class CallPlayer:
    """One call's requests to a channel, following the channel's TwiML."""

    twilio: FakeTwilio
    caller: str
    called: str
    #: The URL pasted as the number's "Call status changes" callback (incoming calls),
    #: or the StatusCallback the Calls API was given (call backs).
    status_url: str | None
    sid: str = field(default_factory=lambda: new_sid("CA"))
    direction: str = "inbound"
    #: For a call back: the events its StatusCallbackEvent asked for.
    status_events: tuple[str, ...] = ("completed",)
    #: The last TwiML the channel answered with.
    twiml: ET.Element | None = None
    #: The last verb of each kind it answered with: a ``<Record>``'s callbacks,
    #: or a retried ``<Dial>`` action, come after the next TwiML.
    verbs: dict[str, ET.Element] = field(default_factory=dict)
    recording_sid: str = field(default_factory=lambda: new_sid("RE"))
    transcription_sid: str = field(default_factory=lambda: new_sid("TR"))
    sequence: int = 0
    signature: str | None = ""

    def params(self, status: str) -> dict[str, str]:
        """The parameters Twilio sends with every request about a voice call."""
        return {
            "AccountSid": self.twilio.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.sid,
            "CallStatus": status,
            "Called": self.called,
            "CalledCountry": "US",
            "CalledState": "CA",
            "Caller": self.caller,
            "CallerCountry": "FR",
            "Direction": self.direction,
            "From": self.caller,
            "FromCountry": "FR",
            "To": self.called,
            "ToCountry": "US",
            "ToState": "CA",
        }

    async def post(self, url: str, params: dict[str, str]) -> httpx.Response:
        return await self.twilio._post(url, params, None, self.signature)

    async def _follow(self, url: str, params: dict[str, str]) -> httpx.Response:
        response = await self.post(url, params)
        if response.status_code == 200 and response.headers.get("content-type", "").startswith(
            "text/xml"
        ):
            self.twiml = ET.fromstring(response.text)
            self.verbs.update({verb.tag: verb for verb in self.twiml})
        return response

    def _verb(self, tag: str) -> ET.Element:
        assert self.twiml is not None, "the channel has not answered with TwiML yet"
        found = self.verbs.get(tag)
        assert found is not None, f"no <{tag}> in {ET.tostring(self.twiml, encoding='unicode')}"
        return found

    def moved(self, old_base: str, new_base: str) -> None:
        """The channel came back at another address (a test server's new port):
        the URLs Twilio holds for this call now lead there."""
        if self.status_url:
            self.status_url = self.status_url.replace(old_base, new_base)
        for verb in self.verbs.values():
            for name, value in verb.attrib.items():
                verb.set(name, value.replace(old_base, new_base))

    # -- an incoming call ----------------------------------------------------------

    async def arrive(self, voice_url: str, **extra: str) -> httpx.Response:
        """The call comes in: Twilio asks the number's Voice URL what to do."""
        return await self._follow(voice_url, {**self.params("ringing"), **extra})

    async def dial_ends(self, status: str, seconds: int = 0) -> httpx.Response:
        """The ``<Dial>`` ends: ``completed`` (talked ``seconds``), ``no-answer``, ``busy``..."""
        dial = self._verb("Dial")
        params = {
            **self.params("in-progress"),
            "DialCallSid": new_sid("CA"),
            "DialCallStatus": status,
            "DialBridged": "true" if status == "completed" else "false",
        }
        if status == "completed":
            params["DialCallDuration"] = str(seconds)
        action = dial.get("action")
        assert action, "the <Dial> has no action"
        return await self._follow(action, params)

    async def leave_message(self, seconds: int) -> httpx.Response:
        """The caller speaks for ``seconds`` and hangs up: the ``<Record>``'s action,
        then its recording status callback."""
        record = self._verb("Record")
        recording = self.recording_url()
        action = record.get("action")
        assert action, "the <Record> has no action (Twilio would request the Voice URL again)"
        params = {
            **self.params("completed"),
            "RecordingSid": self.recording_sid,
            "RecordingUrl": recording,
            "RecordingDuration": str(seconds),
            "Digits": "hangup",
        }
        await self._follow(action, params)
        callback = record.get("recordingStatusCallback")
        assert callback, "the <Record> has no recordingStatusCallback"
        return await self.recording_status("completed", seconds)

    async def recording_status(self, status: str, seconds: int) -> httpx.Response:
        record = self._verb("Record")
        callback = record.get("recordingStatusCallback")
        assert callback
        return await self.post(
            callback,
            {
                "AccountSid": self.twilio.account_sid,
                "CallSid": self.sid,
                "RecordingSid": self.recording_sid,
                "RecordingUrl": self.recording_url(),
                "RecordingStatus": status,
                "RecordingDuration": str(seconds),
                "RecordingChannels": "1",
                "RecordingStartTime": email.utils.formatdate(time.time() - seconds),
                "RecordingSource": "RecordVerb",
                "RecordingTrack": "both",
                "ErrorCode": "0",
            },
        )

    async def transcribe(self, text: str, status: str = "completed") -> httpx.Response:
        """Twilio's transcription of the message, which comes later."""
        record = self._verb("Record")
        assert record.get("transcribe") == "true", "the <Record> asks for no transcription"
        callback = record.get("transcribeCallback")
        assert callback, "the <Record> has no transcribeCallback"
        return await self.post(
            callback,
            {
                **self.params("completed"),
                "TranscriptionSid": self.transcription_sid,
                "TranscriptionText": text,
                "TranscriptionStatus": status,
                "TranscriptionUrl": f"{self.twilio.url}/{API_VERSION}/Accounts/"
                f"{self.twilio.account_sid}/Transcriptions/{self.transcription_sid}",
                "TranscriptionType": "fast",
                "RecordingSid": self.recording_sid,
                "RecordingUrl": self.recording_url(),
                "url": callback,
            },
        )

    def recording_url(self) -> str:
        account = self.twilio.account_sid
        return f"{self.twilio.url}/{API_VERSION}/Accounts/{account}/Recordings/{self.recording_sid}"

    # -- status callbacks ------------------------------------------------------------

    async def status(self, status: str, seconds: int = 0) -> httpx.Response | None:
        """A status callback, sent only when asked for (as Twilio does)."""
        event = "answered" if status == "in-progress" else status
        if event in CALL_EVENTS and event not in self.status_events:
            return None
        if status not in CALL_EVENTS and "completed" not in self.status_events:
            return None  # busy, no-answer... come as the "completed" event
        if not self.status_url:
            return None  # the number's "Call status changes" is not set up
        self.sequence += 1
        params = {
            **self.params(status),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.sequence - 1),
            "Timestamp": email.utils.formatdate(time.time()),
        }
        if status in ("completed", "busy", "failed", "no-answer", "canceled"):
            params["CallDuration"] = str(seconds)
            params["Duration"] = str((seconds + 59) // 60)
        return await self.post(self.status_url, params)

    async def hang_up(self, seconds: int) -> httpx.Response | None:
        """The call ends after ``seconds``: the final status callback."""
        return await self.status("completed", seconds)

    # -- a call back ---------------------------------------------------------------

    async def bridge(
        self, *, agent: str = "answers", customer: str = "completed", talk: int = 0
    ) -> httpx.Response | None:
        """Play a call back placed through the Calls API: the agent's phone rings
        and ``agent`` ("answers", "no-answer", "busy"); then the customer's leg
        ends with ``customer`` ("completed" after ``talk`` seconds, "no-answer"...)."""
        await self.status("initiated")
        await self.status("ringing")
        if agent != "answers":
            return await self.status(agent, 0)
        await self.status("in-progress")
        await self.dial_ends(customer, talk)
        return await self.hang_up(talk + 9)
