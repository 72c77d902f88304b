"""Calls in progress and calls done, kept in the channel's durable state.

Twilio tells about one call in several requests: its arrival, the end of
the Dial, the recording, the status changes, and much later the
transcription. The book gathers them by CallSid and says when a call is
over: its final status came and, for a call that went to voicemail, its
recording too (or ``callback_wait`` passed). A call our TwiML hung up is
over too once ``callback_wait`` passed without its final status (the
number's status callback is not set up). Then the call becomes one
call record, and the book remembers the call as done, so a request Twilio
sends again, or one replayed from the spool after a crash, adds nothing.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from agentdesk.plugin import Inbound, PluginState

from .events import (
    DIALED,
    FINAL_STATUSES,
    INCOMING,
    RECORDED,
    RECORDING,
    STATUS,
    TRANSCRIPTION,
    CallEvent,
)
from .outcome import Call, call_record, late_recording, voicemail_words

STATE_KEY = "calls"
#: Finished calls remembered; Twilio's retries and transcriptions come well before.
DONE_MEMORY = 2000
#: How long a call that is over waits for Twilio's trailing callbacks: the
#: recording of a voicemail, the final status of a call our TwiML hung up.
CALLBACK_WAIT = 60.0
#: Twilio ends every call within 4 hours: a call older than this lost its status callback.
STALE_AFTER = 5 * 3600.0


class CallBook:
    def __init__(
        self,
        state: PluginState,
        logger: logging.Logger,
        *,
        callback_wait: float = CALLBACK_WAIT,
    ) -> None:
        self._state = state
        self._logger = logger
        self.callback_wait = callback_wait
        stored = state.get(STATE_KEY)
        stored = stored if isinstance(stored, dict) else {}
        self.pending: dict[str, Call] = {}
        for sid, data in (stored.get("pending") or {}).items():
            try:
                self.pending[sid] = Call.from_json(data)
            except (TypeError, AttributeError):
                logger.warning("call %s in the saved state is unreadable; dropped", sid)
        #: CallSid → (customer, sids of the recording and transcriptions already emitted).
        self.done: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()
        for entry in stored.get("done") or ():
            if isinstance(entry, list) and len(entry) == 3:
                self.done[str(entry[0])] = (str(entry[1]), [str(i) for i in entry[2]])

    # -- what happened -----------------------------------------------------------

    def place(self, sid: str, customer: str, agent: str, at: float) -> None:
        """A call back we asked Twilio to place (its callbacks may have come first)."""
        if sid in self.done:
            return
        call = self.pending.setdefault(sid, Call(sid, customer, "outbound", at))
        call.direction, call.route = "outbound", "bridge"
        call.agent = call.agent or agent
        call.customer = call.customer or customer

    def apply(self, event: CallEvent) -> list[Inbound]:
        """Learn from one request; returns what is now ready for the desk, in order."""
        sid = event.call_sid
        if event.kind == TRANSCRIPTION and event.status == "failed":
            self._logger.info("Twilio could not transcribe the voicemail of call %s", sid)
        if sid in self.done:
            return self._after(event)
        call = self.pending.get(sid)
        if call is None:
            if event.kind == TRANSCRIPTION:
                return self._after(event)
            if event.kind in (RECORDED, RECORDING) or not event.customer:
                self._logger.debug("%s of unknown call %s: dropped", event.kind, sid)
                return []
            call = Call(sid, event.customer, event.direction, event.received_at, event.caller_name)
            self.pending[sid] = call
        _learn(call, event)
        return self._finish(call) if self._ready(call, event.received_at) else []

    def due(self, now: float) -> list[Inbound]:
        """Calls whose wait for a recording, or for any final status at all, is over."""
        ready: list[Inbound] = []
        for call in list(self.pending.values()):
            if self._ready(call, now):
                ready.extend(self._finish(call))
            elif now >= call.started + STALE_AFTER:
                self._logger.warning(
                    "call %s never had a final status callback: is the number's "
                    "'Call status changes' URL the channel's status route?",
                    call.sid,
                )
                ready.extend(self._finish(call))
        return ready

    def next_deadline(self) -> float | None:
        """When ``due`` next has something to say (Unix time), None when nothing waits."""
        times = [self._deadline(call) for call in self.pending.values()]
        return min(times) if times else None

    # -- durability --------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "pending": {sid: call.to_json() for sid, call in self.pending.items()},
            "done": [[sid, who, list(items)] for sid, (who, items) in self.done.items()],
        }

    async def save(self) -> None:
        """Durable once it returns, and so is everything emitted before it."""
        await self._state.set(STATE_KEY, self.snapshot())

    # -- inside ------------------------------------------------------------------

    def _deadline(self, call: Call) -> float:
        if call.ended is not None:
            return call.ended + self.callback_wait if self._awaits_recording(call) else call.ended
        if call.hung_up is not None:
            return call.hung_up + self.callback_wait
        return call.started + STALE_AFTER

    def _awaits_recording(self, call: Call) -> bool:
        return call.route == "voicemail" and not call.recording_url and not call.no_recording

    def _ready(self, call: Call, now: float) -> bool:
        if call.ended is None:
            if call.hung_up is None or now < call.hung_up + self.callback_wait:
                return False
            self._logger.warning(
                "call %s had no final status callback: set the number's 'Call status "
                "changes' URL to the channel's status route (its duration is the desk's guess)",
                call.sid,
            )
            return True
        return not self._awaits_recording(call) or now >= call.ended + self.callback_wait

    def _finish(self, call: Call) -> list[Inbound]:
        self.pending.pop(call.sid, None)
        ready: list[Inbound] = [call_record(call)]
        items = [call.recording_sid] if call.has_message else []
        for sid, text, at in call.transcripts:
            ready.append(
                voicemail_words(call.sid, call.customer, sid, text, at, call.recording_url)
            )
            items.append(sid)
        self._remember(call.sid, call.customer, items)
        return ready

    def _after(self, event: CallEvent) -> list[Inbound]:
        """A request about a call already recorded (or never seen, for a transcription)."""
        customer, items = self.done.get(event.call_sid, (event.customer, []))
        if event.kind == TRANSCRIPTION:
            item = event.transcription_sid
            if event.status != "completed" or not event.text or not customer or item in items:
                return []
            self._remember(event.call_sid, customer, [*items, item])
            return [
                voicemail_words(
                    event.call_sid,
                    customer,
                    item,
                    event.text,
                    event.received_at,
                    event.recording_url,
                )
            ]
        if event.kind in (RECORDED, RECORDING) and event.call_sid in self.done:
            item = event.recording_sid
            if event.status != "completed" or not event.recording_url or event.seconds <= 0:
                return []
            if item in items:
                return []
            self._remember(event.call_sid, customer, [*items, item])
            return [
                late_recording(
                    event.call_sid,
                    customer,
                    item,
                    event.recording_url,
                    event.seconds,
                    event.received_at,
                )
            ]
        return []

    def _remember(self, sid: str, customer: str, items: list[str]) -> None:
        self.done[sid] = (customer, items)
        self.done.move_to_end(sid)
        while len(self.done) > DONE_MEMORY:
            self.done.popitem(last=False)


def _learn(call: Call, event: CallEvent) -> None:
    """Fold one request into what is known of its call."""
    call.caller_name = call.caller_name or event.caller_name
    if event.kind == INCOMING:
        call.route = call.route or event.route
        call.agent = call.agent or event.agent
    if event.kind == DIALED:
        call.dial_status = event.status or call.dial_status
        call.dial_seconds = max(call.dial_seconds, event.seconds)
        call.route = event.route or call.route
        call.agent = call.agent or event.agent
    elif event.kind in (RECORDED, RECORDING):
        if event.status == "completed" and event.recording_url:
            call.recording_url = event.recording_url
            call.recording_sid = event.recording_sid
            call.recording_seconds = max(call.recording_seconds, event.seconds)
        elif event.status in ("absent", "failed"):
            call.no_recording = True
    elif event.kind == TRANSCRIPTION:
        known = {sid for sid, _, _ in call.transcripts}
        if event.status == "completed" and event.text and event.transcription_sid not in known:
            call.transcripts.append([event.transcription_sid, event.text, event.received_at])
        call.recording_url = call.recording_url or event.recording_url
    if event.hangs_up and call.hung_up is None:
        call.hung_up = event.received_at
    if event.kind == STATUS:
        call.status = event.status
        if event.status in FINAL_STATUSES and call.ended is None:
            call.seconds = event.seconds
            call.ended = event.received_at
        call.agent = call.agent or event.agent
