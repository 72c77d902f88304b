"""Turning mail bytes into text whatever charset the sender's client chose.

Every function here returns the text *and* a problem sentence (or None), so
the caller can log why a message shows replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from dataclasses import dataclass

# Labels mail clients write that Python does not know, or knows under a
# narrower meaning than the one senders use in practice.
_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    # Supersets: mail labelled with the narrow charset often carries the wide one.
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
}
# Labels that usually mean "Windows-1252" when the bytes 0x80-0x9F occur
# (curly quotes, euro sign); the same mapping web browsers use.
_LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    #: Why the text may be imperfect, for the log; None when decoding was clean.
    problem: str | None = None


def decode_bytes(data: bytes, charset: str | None) -> Decoded:
    """Decode ``data`` labelled with ``charset`` (None when the label is missing).

    Never raises: an unknown label or bytes that do not fit the label fall back
    to UTF-8, then Windows-1252, and finally UTF-8 with replacement characters.
    """
    label = (charset or "").strip().strip('"').lower()
    if not label:
        return _guess(data, None)
    if label in _LATIN1_LABELS:
        try:
            return Decoded(data.decode("ascii"))
        except UnicodeDecodeError:
            pass
        for codec in ("utf-8", "cp1252", "latin-1"):
            # A us-ascii label on 8-bit bytes is a mislabel; UTF-8 is the usual truth.
            if codec == "utf-8" and label not in ("us-ascii", "ascii"):
                continue
            try:
                return Decoded(data.decode(codec))
            except UnicodeDecodeError:
                continue
    codec_name = _ALIASES.get(label, label)
    try:
        codecs.lookup(codec_name)
    except LookupError:
        guessed = _guess(data, f"unknown charset {label!r}")
        return guessed
    try:
        return Decoded(data.decode(codec_name))
    except UnicodeDecodeError as exc:
        fallback = _guess(data, f"bytes do not match declared charset {label!r} ({exc.reason})")
        return fallback
    except Exception as exc:  # some codecs raise other errors on garbage input
        return _guess(data, f"charset {label!r} failed: {exc}")


def _guess(data: bytes, why: str | None) -> Decoded:
    try:
        text = data.decode("utf-8")
        return Decoded(text, f"{why}; decoded as UTF-8" if why else None)
    except UnicodeDecodeError:
        pass
    if why is None:
        # No label at all: Windows-1252 is the most common unlabelled 8-bit text.
        try:
            return Decoded(data.decode("cp1252"), "no charset declared; decoded as Windows-1252")
        except UnicodeDecodeError:
            why = "no charset declared"
    return Decoded(
        data.decode("utf-8", errors="replace"), f"{why}; decoded as UTF-8 with replacement"
    )


# RFC 2047 encoded word: =?charset[*lang]?B|Q?text?=
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\s+")


def decode_header_value(value: str | None) -> Decoded:
    """Decode RFC 2047 encoded words in a header value and unfold it.

    Adjacent encoded words in the same charset are joined before decoding, as
    senders split multi-byte characters across them. Broken base64 or an
    unknown charset is decoded leniently and reported.
    """
    if not value:
        return Decoded("")
    value = value.replace("\r\n", "").replace("\n", "").replace("\r", "")
    problems: list[str] = []
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            decoded = decode_bytes(bytes(pending), pending_charset)
            out.append(decoded.text)
            if decoded.problem:
                problems.append(decoded.problem)
        pending.clear()
        pending_charset = None

    last_was_word = False
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        if between and not (last_was_word and _BETWEEN_WORDS.fullmatch(between)):
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        raw, problem = _decode_word(match.group(2), match.group(3))
        if problem:
            problems.append(problem)
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.extend(raw)
        pos = match.end()
        last_was_word = True
    flush()
    out.append(value[pos:])
    return Decoded("".join(out), "; ".join(dict.fromkeys(problems)) or None)


def _decode_word(encoding: str, payload: str) -> tuple[bytes, str | None]:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            data = base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace"), "broken base64 in an encoded word"
        problem = None if cleaned.rstrip("=") == payload.rstrip("=") else "damaged base64 word"
        return data, problem
    # header=True makes "_" a space, as RFC 2047 Q-encoding says.
    return quopri.decodestring(payload.encode("ascii", "replace"), header=True), None
