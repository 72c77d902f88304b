"""The voice channel's options, and the checked settings built from them.

The account's options (SID, token, API key, API address) are the SMS
channel's: see ``agentdesk_twilio.account``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import Option, PluginConfigError

from ..account import (
    CONNECTION_OPTIONS,
    CREDENTIAL_OPTIONS,
    TwilioAccount,
    build_account,
    e164,
    number_validator,
)

#: Twilio transcribes recordings of at most two minutes.
MAX_TRANSCRIBED = 120
#: Twilio's limit on the text of one <Say>.
MAX_SAY = 4096

_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")
_VOICE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _spoken(what: str) -> Callable[[Any], str | None]:
    def check(value: str) -> str | None:
        if len(value) > MAX_SAY:
            return f"{what} is {len(value)} characters; Twilio says at most {MAX_SAY}"
        return None

    return check


def _check_language(value: str) -> str | None:
    if _LANGUAGE.fullmatch(value) is None:
        return f"expected a language tag like en-US or fr-FR, got {value!r}"
    return None


def _check_voice(value: str) -> str | None:
    if value and _VOICE.fullmatch(value) is None:
        return f"expected a Twilio voice name like alice or Polly.Joanna, got {value!r}"
    return None


def _phone_entry(entry: str) -> tuple[str, str | None]:
    name, _, number = entry.partition("=")
    return name.strip().lower(), e164(number)


def _phone_entry_problem(entry: str) -> str | None:
    name, number = _phone_entry(entry)
    if not name or number is None:
        return f'expected "agent name=+14155550100", got {entry!r}'
    return None


VOICE_OPTIONS: tuple[Option, ...] = (
    *CREDENTIAL_OPTIONS,
    Option.text(
        "number",
        help="the Twilio number customers call (+15017122661); call backs show it as caller id",
        validator=number_validator(optional=False),
    ),
    Option.text(
        "forward_to",
        default="",
        help="the number calls are put through to (a desk phone, a team line); "
        "empty: calls go straight to voicemail",
        validator=number_validator(optional=True),
    ),
    Option.number(
        "ring_seconds",
        default=20,
        minimum=5,
        maximum=60,
        integer=True,
        help="how long forward_to (or, on a call back, the agent's phone) rings",
    ),
    Option.flag(
        "voicemail",
        default=True,
        help="when nobody answers, the caller may leave a message (else the call is missed)",
    ),
    Option.text(
        "greeting",
        default="Thank you for calling.",
        help="what the caller hears first; empty: nothing",
        validator=_spoken("the greeting"),
    ),
    Option.text(
        "voicemail_prompt",
        default="Nobody can take your call right now. Please leave a message after the tone.",
        help="what the caller hears before leaving a message",
        validator=_spoken("the voicemail prompt"),
    ),
    Option.text(
        "language",
        default="en-US",
        help="the language the greeting and prompt are spoken in (en-US, fr-FR...)",
        validator=_check_language,
    ),
    Option.text(
        "voice",
        default="",
        help="the Twilio voice that speaks them (alice, Polly.Joanna...); empty: Twilio's default",
        validator=_check_voice,
    ),
    Option.number(
        "max_message_seconds",
        default=120,
        minimum=5,
        maximum=3600,
        integer=True,
        help="the longest voicemail a caller may leave, in seconds",
    ),
    Option.flag(
        "transcribe",
        default=True,
        help="ask Twilio to transcribe voicemails (messages of up to 120 seconds)",
    ),
    Option.list(
        "agent_phones",
        default=(),
        help='each agent\'s phone, rung first on their call backs: "name=+14155550100"',
        validator=lambda entries: next(filter(None, map(_phone_entry_problem, entries)), None),
    ),
    Option.text(
        "agent_number",
        default="",
        help="the phone a call back rings first for an agent not in agent_phones; "
        "empty: forward_to",
        validator=number_validator(optional=True),
    ),
    *CONNECTION_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    account: TwilioAccount
    #: The channel's number, in international form.
    number: str
    #: Where incoming calls are put through; "" sends them straight to voicemail.
    forward_to: str
    ring_seconds: int
    voicemail: bool
    greeting: str
    voicemail_prompt: str
    language: str
    voice: str
    max_message_seconds: int
    transcribe: bool
    #: Agent name (lower case) → the phone their call backs ring first.
    agent_phones: dict[str, str]
    #: The phone a call back rings first for any other agent; "" when none is configured.
    agent_number: str

    def phone_of(self, agent: str) -> str:
        """The phone to ring first for ``agent``'s call back; "" when there is none."""
        return self.agent_phones.get(agent.strip().lower(), self.agent_number)


def build_voice_settings(options: dict[str, Any]) -> VoiceSettings:
    """Check what no single option can check alone; each message names the key to fix."""
    account = build_account(options)
    number = e164(str(options["number"])) or ""
    forward_to = e164(str(options["forward_to"])) or ""
    agent_number = e164(str(options["agent_number"])) or ""
    if not forward_to and not options["voicemail"]:
        raise PluginConfigError(
            "voicemail: with no forward_to, a call can only go to voicemail; "
            "set forward_to, or voicemail = true"
        )
    if forward_to and forward_to == number:
        raise PluginConfigError("forward_to: the channel's own number would ring itself")
    seconds = int(options["max_message_seconds"])
    if options["transcribe"] and options["voicemail"] and seconds > MAX_TRANSCRIBED:
        raise PluginConfigError(
            f"max_message_seconds: Twilio transcribes messages of at most {MAX_TRANSCRIBED} "
            f"seconds, got {seconds}; lower it, or set transcribe = false"
        )
    return VoiceSettings(
        account=account,
        number=number,
        forward_to=forward_to,
        ring_seconds=int(options["ring_seconds"]),
        voicemail=bool(options["voicemail"]),
        greeting=str(options["greeting"]).strip(),
        voicemail_prompt=str(options["voicemail_prompt"]).strip(),
        language=str(options["language"]),
        voice=str(options["voice"]),
        max_message_seconds=seconds,
        transcribe=bool(options["transcribe"]),
        agent_phones={
            name: number
            for name, number in map(_phone_entry, options["agent_phones"])
            if number is not None
        },
        agent_number=agent_number or forward_to,
    )
