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
from collections.abc import Sequence

# Placed between the messages of a task in the index so that a phrase never
# matches across two messages. A private-use character is a token of its own
# for unicode61; queries drop it, so nobody can search for it.
PART_SEPARATOR = "\ue000"

# Words: letters and digits, with any combining accents that follow them.
# unicode61 also counts private-use characters as word characters; we leave
# them out so the part separator can never be typed into a query.
_TOKEN = re.compile(r"(?:[^\W_][\u0300-\u036f]*)+")


# Combining marks (accents) left apart by NFD decomposition.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """``text`` in lower case without accents: ``"Reçu Élodie"`` → ``"recu elodie"``."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).lower()


# Letters that commonly carry accents in Latin-script languages (é, ç, ñ, ü…).
_OFTEN_ACCENTED = frozenset("aeiouycn")


def like_pattern(word: str) -> str:
    """An SQLite LIKE that matches any text holding folded ``word`` with usual accents.

    ``"recu"`` gives ``%r_c_%``: LIKE ignores ASCII case, and ``_`` stands in for
    any letter that may carry an accent (and for non-ASCII letters, whose case
    LIKE does not fold). It may also match texts without the word, never the
    reverse for the accents of French, Spanish, Portuguese and German; SQLite
    runs it in C on every message of a page to shortlist those worth checking.
    """
    chars = ("_" if c in _OFTEN_ACCENTED or not c.isascii() else c for c in word)
    return "%" + "".join(chars) + "%"


def _variants() -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for code in range(0x80, 0x2000):
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and folded != char:
            found.setdefault(folded, []).append(char)
    return {letter: "".join(chars) for letter, chars in found.items()}


# For each folded letter, the letters that fold to it ("e": "èéêëÈÉ…").
_VARIANTS = _variants()
_MARKS_AFTER = "[\u0300-\u036f]*"
_WORD = "[^\\W_]"


def words_pattern(
    tokens: Sequence[str], *, prefix: bool = False, folded: bool = False
) -> re.Pattern[str]:
    """A regex finding the folded ``tokens`` (one word, or a phrase) in text.

    Words must be whole, as the index sees them, but for the last one of a
    ``prefix``. For text already ``folded`` the regex is plain and starts
    with the word itself, which Python's engine finds fast; the caller checks
    that no letter comes just before a match (``starts_a_word``). Otherwise it
    accepts every accent and case. For marking snippets.
    """
    words = []
    for token in tokens:
        if folded:
            words.append(re.escape(token))
            continue
        chars = []
        for char in token:
            variants = _VARIANTS.get(char)
            chars.append(f"[{re.escape(char + variants)}]" if variants else re.escape(char))
        words.append(_MARKS_AFTER.join(chars) + _MARKS_AFTER)
    body = "(?:[\\W_]+)".join(words)
    if prefix:
        body += f"{_WORD}*" if folded else f"(?:{_WORD}{_MARKS_AFTER})*"
    if folded:
        return re.compile(f"{body}(?!{_WORD})")
    return re.compile(f"(?<!{_WORD}){body}(?!{_WORD})", re.IGNORECASE)


def starts_a_word(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalnum()


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
