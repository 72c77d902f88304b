"""Customer text made safe and bounded for the screen.

Customer text is data: it goes into ``rich.text.Text`` objects (never parsed as
markup), loses terminal control sequences (``clean_text``), and is cut to what a
person can read in one place, saying how much was left out.
"""

from __future__ import annotations

from rich.text import Text

from agentdesk.domain.text import clean_text, one_line

#: What one message shows before "… N more lines".
MAX_LINES = 60
MAX_CHARS = 8000


def safe_line(text: str, width: int = 120) -> str:
    """One line of at most ``width`` characters, free of control sequences."""
    # Cut first: a megabyte-long name must not cost a megabyte of work per row.
    return one_line(clean_text(text[: width * 4 + 64]), width)


def capped_text(
    text: str, *, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS, style: str = ""
) -> Text:
    """``text`` as a Text of at most ``max_lines`` lines and ``max_chars`` characters,
    ending with "… N more lines" (or characters) when it was cut."""
    window = text[:max_chars]
    lines = clean_text(window, max_chars=max_chars).split("\n")
    shown = lines[:max_lines]
    result = Text("\n".join(shown).expandtabs(4), style=style)
    if len(text) <= max_chars and len(lines) <= max_lines:
        return result
    hidden_lines = text.count("\n") + 1 - len(shown)
    if hidden_lines > 0:
        result.append(f"\n… {hidden_lines} more lines", style="italic")
    else:
        result.append(f"\n… {len(text) - len(window)} more characters", style="italic")
    return result


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
