"""A channel's text limits, counted live while the agent types."""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.plugin import Capabilities

# The GSM 03.38 basic character set and its extension table (each extension
# character costs two). Text outside it is sent as UCS-2, with shorter segments.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class TextCount:
    """What the counter shows: length, the limit, and billed segments if any."""

    length: int
    limit: int | None
    segments: int | None
    unicode: bool = False

    @property
    def over(self) -> bool:
        return self.limit is not None and self.length > self.limit

    def describe(self) -> str:
        text = f"{self.length}/{self.limit}" if self.limit is not None else f"{self.length} chars"
        if self.segments is not None:
            text += f" · {self.segments} segment{'s' if self.segments != 1 else ''}"
            if self.unicode:
                text += " (unicode)"
        if self.over:
            text += " · too long"
        return text


def count_text(text: str, capabilities: Capabilities | None) -> TextCount:
    """Count ``text`` against a channel's ``max_text_length`` and ``segment_length``."""
    if capabilities is None:
        return TextCount(len(text), None, None)
    segment = capabilities.segment_length
    if not segment:
        return TextCount(len(text), capabilities.max_text_length, None)
    unicode = any(ch not in _GSM_BASIC and ch not in _GSM_EXTENDED for ch in text)
    if unicode:
        # UCS-2 carries 70 characters where GSM-7 carries 160.
        single = max(1, segment * 70 // 160)
        units = len(text)
    else:
        single = segment
        units = len(text) + sum(1 for ch in text if ch in _GSM_EXTENDED)
    # A message in several parts loses room to the concatenation header.
    multi = max(1, single - (3 if unicode else 7))
    segments = 0 if units == 0 else 1 if units <= single else -(-units // multi)
    return TextCount(len(text), capabilities.max_text_length, segments, unicode)
