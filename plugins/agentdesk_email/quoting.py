"""Trimming the quoted history off a reply, for display.

Mail clients append the whole previous conversation below (or, rarely, above)
a reply. The agent already has that history on the task's timeline, so the
message shows only what is new; the full text is kept beside it.
"""

from __future__ import annotations

import re

# A line that introduces the quoted original, in the languages our customers write.
_ATTRIBUTION = re.compile(
    r"""^\s*(
        (on|le|am|el|il|op|em|den|på)\b.{0,200}\b(wrote|a\s+écrit|schrieb|escribió|ha\s+scritto
            |schreef|escreveu|skrev)\b.{0,200}:
      | -{2,}\s*(original\s+message|message\s+d'origine|ursprüngliche\s+nachricht
            |mensaje\s+original|messaggio\s+originale|forwarded\s+message)\s*-{2,}
      | _{10,}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Outlook's header block: "From: ...", then "Sent:"/"Date:" within the next lines.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|de|von|da|van)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(sent|date|envoyé|gesendet|enviado|inviato|verzonden|to|à|an|subject|objet)\s*:",
    re.IGNORECASE,
)


def trim_quoted(text: str) -> str:
    """``text`` without the quoted original it replies to.

    Returns ``text`` itself (stripped) when nothing is quoted, or when trimming
    would leave nothing (a reply written between the quoted lines, or a
    forward with no comment, is shown whole).
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _find_cut(lines)
    if cut is None:
        return text.strip()
    kept = "\n".join(lines[:cut]).rstrip()
    return kept.strip() if kept.strip() else text.strip()


def _find_cut(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line):
            return index
        # Some clients wrap a long "On <date>, <name> wrote:" over two lines.
        if (
            index + 1 < len(lines)
            and lines[index + 1].rstrip().endswith(":")
            and _ATTRIBUTION.match(line + " " + lines[index + 1].strip())
        ):
            return index
        if _OUTLOOK_FROM.match(line) and _has_outlook_block(lines, index):
            return index
        if line.startswith(">") and _only_quotes_follow(lines, index):
            return index
    return None


def _has_outlook_block(lines: list[str], start: int) -> bool:
    following = [line for line in lines[start + 1 : start + 5] if line.strip()]
    return sum(1 for line in following if _OUTLOOK_NEXT.match(line)) >= 2


def _only_quotes_follow(lines: list[str], start: int) -> bool:
    # Interleaved answers (text between quoted lines) are not trimmed.
    rest = [line for line in lines[start:] if line.strip()]
    return all(line.lstrip().startswith(">") for line in rest)
