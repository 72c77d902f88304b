"""The Twilio voice channel: call records from a Twilio number, and call backs."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar

import httpx

from agentdesk.plugin import (
    Capabilities,
    DeliveryLedger,
    Option,
    PluginContext,
)

from ..guard import webhook_detail
from ..lifecycle import TwilioChannel
from ..spool import Spool
from .api import CallsApi
from .book import CallBook
from .callback import STATE_KEY as CALL_BACK_KEYS
from .callback import CallBacks
from .events import CallEvent
from .receiver import CallReceiver
from .settings import VOICE_OPTIONS, build_voice_settings
from .webhooks import VoiceWebhooks


class TwilioVoiceChannel(TwilioChannel):
    """Calls to one Twilio number, as call records; agents call customers back.

    Routes, under ``/channels/<name>``: ``/voice`` (the number's "A call comes
    in" webhook) and ``/status`` (its "Call status changes" callback), to
    paste in Twilio's console; ``/dialed``, ``/recorded``, ``/recording`` and
    ``/transcription``, which the channel's TwiML hands Twilio itself.
    """

    plugin: ClassVar[str] = "twilio-voice"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "Call records, voicemail and call backs through a Twilio number"
    needs_http: ClassVar[bool] = True
    # A call is not a text: agents answer by calling back (``call_back``), or
    # hand the task to a channel that takes replies.
    capabilities = Capabilities(kind="phone", identity_kind="phone", outbound=False, calls=True)
    options: ClassVar[tuple[Option, ...]] = VOICE_OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_voice_settings(context.options)
        self.book = CallBook(context.state, context.logger)
        self.receiver = CallReceiver(
            context, Spool(context.data_dir / "spool", CallEvent.from_json), self.book
        )
        self.webhooks = VoiceWebhooks(
            settings=self.settings,
            public_url=lambda: context.base_url,
            on_event=self.receiver.take,
            logger=context.logger,
        )
        #: Full paths of the routes on the desk's server (paste the first two in Twilio).
        self.paths = self.webhooks.register(context.add_route)
        self._call_backs = CallBacks(
            self.settings,
            self.book,
            DeliveryLedger(context.state, state_key=CALL_BACK_KEYS),
            self.webhooks,
            lambda: context.base_url,
            context.logger,
        )

    # -- lifecycle -----------------------------------------------------------------

    def timeout(self) -> float:
        return self.settings.account.timeout

    def attach(self, client: httpx.AsyncClient) -> None:
        self._call_backs.api = CallsApi(self.settings.account, client)

    def detach(self) -> None:
        self._call_backs.api = None

    def drain(self) -> Coroutine[Any, Any, None]:
        return self.receiver.run()

    def webhook_detail(self) -> str:
        voice = webhook_detail(self.context.base_url, self.paths.voice, self.context.logger)
        base = self.context.base_url
        return f"{voice}; status callback {base}{self.paths.status}" if base else voice

    # -- calling back ----------------------------------------------------------------

    async def call_back(self, to: str, *, agent: str = "", key: str | None = None) -> str:
        """Call the customer at ``to`` back: ring the agent's phone, then put them through.

        Twilio first rings the phone of ``agent`` (their name, looked up in the
        ``agent_phones`` option; else the ``agent_number`` option, else
        ``forward_to``) from the channel's number; once the agent answers, it
        dials ``to`` (international form, ``+33612345678``) with the
        channel's number as caller id. When the call ends, its outcome lands
        on the customer's timeline as an outbound call record (answered, or
        missed with the reason), whose external id is Twilio's CallSid.

        Returns a line for the agent ("ringing +14155550100, then
        +33612345678") once Twilio has queued the call. ``key`` makes it
        idempotent, across restarts too: the same key again places no second
        call and returns the same line.

        Raises ``PermanentDeliveryError`` when retrying cannot help (a number
        not in international form, no phone for this agent, a number Twilio
        refuses, a key whose first try got no answer from Twilio, which may
        have placed it), and ``TemporaryDeliveryError`` or
        ``ChannelConnectionError`` when Twilio is busy or unreachable, refuses
        the credentials (the channel then shows ``degraded``), or the channel
        is not running. Nothing is retried by the channel: a call placed late
        is worse than none.
        """
        placed = await self.guarded(self._call_backs.place(to, agent=agent, key=key))
        return f"ringing {placed.agent_phone}, then {placed.customer}"
