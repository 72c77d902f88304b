"""A channel's text limits, counted live while the agent types."""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.plugin import Capabilities, sms_segments

#: Characters named after "UCS-2:" before the rest are summed up as "…".
SHOWN_CHARACTERS = 4


@dataclass(frozen=True, slots=True)
class TextCount:
    """What the counter shows: length, the limit, and billed segments if any."""

    length: int
    limit: int | None
    segments: int | None
    unicode: bool = False
    #: The characters that turned an SMS into UCS-2 (shorter segments).
    unicode_characters: tuple[str, ...] = ()

    @property
    def over(self) -> bool:
        return self.limit is not None and self.length > self.limit

    def describe(self) -> str:
        text = f"{self.length}/{self.limit}" if self.limit is not None else f"{self.length} chars"
        if self.segments is not None:
            text += f" · {self.segments} segment{'s' if self.segments != 1 else ''}"
            if self.unicode:
                text += " · UCS-2: " + _shown(self.unicode_characters)
        if self.over:
            text += " · too long"
        return text


def _shown(characters: tuple[str, ...]) -> str:
    # Invisible and combining characters would show as nothing: name their code.
    named = [c if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in characters]
    more = len(named) - SHOWN_CHARACTERS
    return " ".join(named[:SHOWN_CHARACTERS]) + (f" +{more}" if more > 0 else "")


def count_text(text: str, capabilities: Capabilities | None) -> TextCount:
    """Count ``text`` against a channel's ``max_text_length`` and, where it
    declares ``segment_length``, in SMS segments as they are billed."""
    if capabilities is None:
        return TextCount(len(text), None, None)
    if not capabilities.segment_length:
        return TextCount(len(text), capabilities.max_text_length, None)
    count = sms_segments(text)
    return TextCount(
        len(text),
        capabilities.max_text_length,
        count.segments,
        count.unicode,
        count.unicode_characters,
    )
