"""The TwiML the voice channel answers Twilio with, built with ElementTree.

Text from the config (a greeting, a prompt) and numbers only ever go in as
element text or attribute values, so ElementTree escapes them; characters
XML cannot carry at all (control characters) are dropped first, since
Twilio refuses a document that is not well-formed XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .settings import VoiceSettings

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class VoicemailUrls:
    """Where Twilio reports a voicemail: the Record's action, the recording, its text."""

    recorded: str
    recording: str
    transcription: str


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", value)


def render(response: ET.Element) -> str:
    return DECLARATION + ET.tostring(response, encoding="unicode")


def _say(parent: ET.Element, text: str, settings: VoiceSettings) -> None:
    text = xml_text(text).strip()
    if not text:
        return
    say = ET.SubElement(parent, "Say", language=settings.language)
    if settings.voice:
        say.set("voice", settings.voice)
    say.text = text


def _record(parent: ET.Element, settings: VoiceSettings, urls: VoicemailUrls) -> None:
    record = ET.SubElement(
        parent,
        "Record",
        maxLength=str(settings.max_message_seconds),
        playBeep="true",
        # Without an action Twilio requests the Voice URL again: the caller
        # would be greeted and recorded once more.
        action=urls.recorded,
        method="POST",
        recordingStatusCallback=urls.recording,
        recordingStatusCallbackMethod="POST",
        recordingStatusCallbackEvent="completed",
    )
    if settings.transcribe:
        record.set("transcribe", "true")
        record.set("transcribeCallback", urls.transcription)


def voicemail(settings: VoiceSettings, urls: VoicemailUrls, *, greet: bool) -> str:
    """The prompt, then the recording (after the greeting, on a call not forwarded)."""
    response = ET.Element("Response")
    if greet:
        _say(response, settings.greeting, settings)
    _say(response, settings.voicemail_prompt, settings)
    _record(response, settings, urls)
    return render(response)


def forward(settings: VoiceSettings, dialed_url: str) -> str:
    """The greeting, then ring ``forward_to``; Twilio reports how that went to ``dialed_url``."""
    response = ET.Element("Response")
    _say(response, settings.greeting, settings)
    dial = ET.SubElement(
        response,
        "Dial",
        timeout=str(settings.ring_seconds),
        action=dialed_url,
        method="POST",
    )
    ET.SubElement(dial, "Number").text = settings.forward_to
    return render(response)


def bridge(settings: VoiceSettings, customer: str, dialed_url: str) -> str:
    """A call back: once the agent answers, dial the customer from the channel's number."""
    response = ET.Element("Response")
    dial = ET.SubElement(
        response,
        "Dial",
        callerId=settings.number,
        timeout=str(settings.ring_seconds),
        action=dialed_url,
        method="POST",
    )
    ET.SubElement(dial, "Number").text = xml_text(customer)
    return render(response)


def hangup() -> str:
    response = ET.Element("Response")
    ET.SubElement(response, "Hangup")
    return render(response)
