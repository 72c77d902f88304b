"""SMS segments as carriers bill them (GSM-7 160/153, UCS-2 70/67): the one
count the console's composer shows and SMS channels send by."""

from __future__ import annotations

import pytest

from agentdesk.plugin import sms_segments


@pytest.mark.parametrize(
    ("text", "encoding", "count", "units", "remaining"),
    [
        ("", "GSM-7", 0, 0, 160),
        ("Hello", "GSM-7", 1, 5, 155),
        ("a" * 160, "GSM-7", 1, 160, 0),
        ("a" * 161, "GSM-7", 2, 161, 145),  # 153 + 8
        ("a" * 306, "GSM-7", 2, 306, 0),
        ("a" * 307, "GSM-7", 3, 307, 152),
        ("[ok]", "GSM-7", 1, 6, 154),  # brackets are escape + character
        ("€" * 80, "GSM-7", 1, 160, 0),
        ("€" * 81, "GSM-7", 2, 162, 143),  # 76 euros (152 septets) + 5
        # 153 euros are 306 septets, but a part holds 76 of them: 3 parts, not 2.
        ("€" * 153, "GSM-7", 3, 306, 151),
        ("a" * 158 + "{", "GSM-7", 1, 160, 0),
        ("a" * 159 + "{", "GSM-7", 2, 161, 145),  # 153, then 6 + 2
        # The escape pair does not fit after 152 septets: it opens part 2 (2 + 8).
        ("a" * 152 + "{" + "a" * 8, "GSM-7", 2, 162, 143),
        ("Ça coûte 5 €", "UCS-2", 1, 12, 58),  # û is not GSM-7
        ("Ça va très bien", "GSM-7", 1, 15, 145),  # è and Ç are
        ("ça va", "UCS-2", 1, 5, 65),  # lowercase ç is not
        ("x" * 70, "GSM-7", 1, 70, 90),
        ("ç" * 70, "UCS-2", 1, 70, 0),
        ("ç" * 71, "UCS-2", 2, 71, 63),  # 67 + 4
        ("ç" * 134, "UCS-2", 2, 134, 0),
        ("ç" * 135, "UCS-2", 3, 135, 66),
        ("😀" * 35, "UCS-2", 1, 70, 0),  # two code units each
        ("😀" * 36, "UCS-2", 2, 72, 61),  # 33 per part (66 units), then 3
        ("😀" * 67, "UCS-2", 3, 134, 65),  # 33 + 33 + 1: a pair is never split
        ("Tab\there", "UCS-2", 1, 8, 62),
        ("Line\nbreak\r\f", "GSM-7", 1, 13, 147),  # form feed is in the extension table
    ],
)
def test_segments(text: str, encoding: str, count: int, units: int, remaining: int) -> None:
    result = sms_segments(text)
    assert (result.encoding, result.segments, result.units, result.remaining) == (
        encoding,
        count,
        units,
        remaining,
    )
    assert (
        result.per_segment
        == {
            ("GSM-7", True): 160,
            ("GSM-7", False): 153,
            ("UCS-2", True): 70,
            ("UCS-2", False): 67,
        }[(encoding, count <= 1)]
    )


def test_segments_name_the_characters_that_forced_ucs2() -> None:
    assert sms_segments("Merci 👍 ça marche 👍").unicode_characters == ("👍", "ç")
    assert sms_segments("Merci, à bientôt").unicode_characters == ("ô",)
    assert (
        sms_segments("All GSM: @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà").unicode_characters == ()
    )
    assert sms_segments("{}[]~|^\\€").units == 18
    assert not sms_segments("plain").unicode and sms_segments("naïve").unicode
