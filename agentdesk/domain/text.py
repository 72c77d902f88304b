"""Making untrusted text safe to store and show.

Customer text is data. Before it is stored it loses terminal control sequences
and other control characters (newlines and tabs stay), lone surrogates that
cannot be encoded, and anything past a size bound. Escaping of console markup
is the console's job; this module keeps text free of bytes that could drive a
terminal.
"""

from __future__ import annotations

import re

DEFAULT_MAX_CHARS = 200_000

# CSI, OSC (ended by BEL or ST), other ESC sequences, then C0/C1 controls but
# for tab and newline. A string sequence that is never ended loses only its
# introducer (the two-character rule): what follows is the customer's text,
# not a payload ("Hello \x1b] my order 123" keeps "my order 123").
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]?"  # two-character escapes, and a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Bidi overrides and isolates could reorder what an agent reads on screen, and
# Unicode tag characters carry text nobody sees (hidden instructions). The
# marks that only nudge direction (LRM, RLM, ALM) and the zero-width space and
# joiners stay: scripts and emoji need them, and none hides or reorders text.
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
# Any character the steps below would change (\r and ESC among the controls):
# most text has none, and one scan tells.
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
)


def clean_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return ``text`` without control sequences, bounded to ``max_chars``.

    ``\\r\\n`` and lone ``\\r`` become ``\\n``. Text cut at the bound ends with a
    marker saying how much was left out, so nobody mistakes it for the whole.
    """
    if not text:
        return ""
    if len(text) <= max_chars and _UNSAFE.search(text) is None:
        return text
    original = len(text)
    # Cleaning only removes characters, so work on a bounded prefix: a 50 MB
    # message costs no more than one at the bound.
    text = text[: max_chars * 2]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPES.sub("", text)
    text = _SURROGATES.sub("\ufffd", text)
    text = _BIDI_CONTROLS.sub("", text)
    if len(text) > max_chars or original > max_chars * 2:
        kept = text[:max_chars]
        dropped = original - len(kept)
        text = kept + f"\n[… about {dropped} more characters not shown]"
    return text


def valid_unicode(text: str) -> str:
    """``text`` with each unpaired surrogate (which no file or database can
    hold as UTF-8) replaced by U+FFFD, and nothing else changed."""
    if text.isascii() or _SURROGATES.search(text) is None:
        return text
    return _SURROGATES.sub("\ufffd", text)


def one_line(text: str, width: int = 120) -> str:
    """A single-line preview of ``text`` (whitespace folded) at most ``width`` long."""
    head = 4 * width + 64
    if len(text) > head:
        # Folding a prefix gives a prefix of the folded whole: when it is long
        # enough already, the rest of a long message need not be read.
        folded = " ".join(text[:head].split())
        if len(folded) > width:
            return folded[: max(0, width - 1)] + "…"
    folded = " ".join(text.split())
    if len(folded) > width:
        return folded[: max(0, width - 1)] + "…"
    return folded


def safe_line(text: str, width: int = 120) -> str:
    """One line of at most ``width`` characters, free of control sequences: how
    stored text is shown anywhere a person reads it (the console, the CLI)."""
    # Cut first: a megabyte-long name must not cost a megabyte of work per row.
    return one_line(clean_text(text[: width * 4 + 64]), width)


def safe_fragment(text: str, width: int = 200) -> str:
    """A piece of a line (a snippet around a highlighted word): as ``safe_line``,
    but a space it starts or ends with is kept, so the pieces join as words."""
    body = safe_line(text, width)
    if not text[:1].isspace() and not text[-1:].isspace():
        return body
    if not body:
        return " "
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + body + trail
