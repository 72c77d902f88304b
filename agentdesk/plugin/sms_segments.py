"""How many SMS segments a text costs, counted the way carriers and SMS APIs
(Twilio among them) bill them. The console's counter and SMS channels count
with this one function, so what the agent sees is what the channel is billed.

A text that fits the GSM-7 alphabet (3GPP TS 23.038) travels in 7-bit
septets: 160 in a single message, 153 per part once it needs several (the
concatenation header takes the rest). The extension table's characters
(``^ { } \\ [ ~ ] | €`` and form feed) are an escape septet plus one, so they
count 2. One character outside the alphabet turns the whole text into UCS-2:
70 UTF-16 code units in a single message, 67 per part; characters beyond
the Basic Multilingual Plane (most emoji) take 2 code units.

A character is never split between two parts (neither an escape pair nor a
surrogate pair), so a part may end a unit short of full.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

#: The GSM 03.38 default alphabet, one septet each (the escape code excluded).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: an escape septet and one more.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What a text costs as an SMS."""

    #: ``"GSM-7"`` or ``"UCS-2"``.
    encoding: str
    #: Billed segments; 0 for an empty text.
    segments: int
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes.
    units: int
    #: Units one segment holds at this length: 160 or 153 (GSM-7), 70 or 67 (UCS-2).
    per_segment: int
    #: Units still free in the last segment before another one starts.
    remaining: int
    #: The characters that forced UCS-2, each once, in order of appearance.
    unicode_characters: tuple[str, ...] = ()

    @property
    def unicode(self) -> bool:
        return self.encoding == UCS2


def _gsm7_cost(character: str) -> int | None:
    """Septets of one character, or None when GSM-7 cannot carry it."""
    if character in GSM7_BASIC:
        return 1
    if character in GSM7_EXTENDED:
        return 2
    return None


def _ucs2_cost(character: str) -> int:
    """UTF-16 code units of one code point."""
    return 2 if ord(character) > 0xFFFF else 1


def sms_segments(text: str) -> SegmentCount:
    """Count ``text`` as an SMS: its encoding, segments and units."""
    gsm_costs = [_gsm7_cost(character) for character in text]
    forced = tuple(
        dict.fromkeys(c for c, cost in zip(text, gsm_costs, strict=True) if cost is None)
    )
    if forced:
        encoding = UCS2
        costs = [_ucs2_cost(character) for character in text]
    else:
        encoding = GSM7
        costs = [cost or 0 for cost in gsm_costs]
    single, multi = _LIMITS[encoding]
    units = sum(costs)
    if units == 0:
        return SegmentCount(encoding, 0, 0, single, single, forced)
    if units <= single:
        return SegmentCount(encoding, 1, units, single, single - units, forced)
    count, used = _pack(costs, multi)
    return SegmentCount(encoding, count, units, multi, multi - used, forced)


def _pack(costs: list[int], capacity: int) -> tuple[int, int]:
    """Fill parts of ``capacity`` units in order without splitting a character;
    returns the number of parts and the units used in the last one."""
    count, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            count += 1
            used = 0
        used += cost
    return count, used
