"""Folding text the way the index does: lower case, no accents.

The full-text index uses SQLite's ``unicode61`` tokenizer with
``remove_diacritics 2``; every other column we compare (tags, names, channel
names) is folded here so that ``Élodie`` finds ``elodie`` everywhere. The
Python tokenizer below follows ``unicode61`` for the scripts support text is
written in (Latin, Greek, Cyrillic); it is used to mark matched words in
snippets and to tell a word from punctuation, never to decide a match.
"""

from __future__ import annotations

import re
import unicodedata

# Placed between the messages of a task in the index so that a phrase never
# matches across two messages. A private-use character is a token of its own
# for unicode61; queries drop it, so nobody can search for it.
PART_SEPARATOR = "\ue000"

# Words: letters and digits, with any combining accents that follow them.
# unicode61 also counts private-use characters as word characters; we leave
# them out so the part separator can never be typed into a query.
_TOKEN = re.compile(r"(?:[^\W_][\u0300-\u036f]*)+")


def fold(text: str) -> str:
    """``text`` in lower case without accents: ``"Reçu Élodie"`` → ``"recu elodie"``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded word)`` for each word of ``text``, in order."""
    return [(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(text)]


def tokens(text: str) -> list[str]:
    """The folded words of ``text``."""
    return [token for _, _, token in token_spans(text)]


_NOT_DIGITS = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^[\d\s+().\-/]*\d[\d\s+().\-/]*$")


def digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


def looks_like_phone(text: str) -> bool:
    """True for a value made only of digits and the signs people write numbers with."""
    return bool(_PHONE_CHARS.match(text))


def phone_forms(value: str) -> list[str]:
    """Digit strings under which a phone number can be found by a fragment.

    ``+33612345678`` is also written ``06 12 34 56 78`` at home: besides its
    digits we keep the national forms (``0`` in place of a country code of one,
    two or three digits), so ``0612`` finds it.
    """
    number = digits(value)
    if not number:
        return []
    forms = [number]
    if value.strip().startswith("+"):
        for code_length in (1, 2, 3):
            if len(number) > code_length + 1:
                forms.append("0" + number[code_length:])
    return forms
