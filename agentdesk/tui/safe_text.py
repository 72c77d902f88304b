"""Customer text made safe and bounded for the screen.

Customer text is data: it goes into ``rich.text.Text`` objects (never parsed as
markup), loses terminal control sequences (``clean_text``), and is cut to what a
person can read in one place, saying how much was left out.
"""

from __future__ import annotations

from rich.text import Text

from agentdesk.domain.text import clean_text, safe_fragment, safe_line

__all__ = ["MAX_CHARS", "MAX_LINES", "capped_text", "safe_fragment", "safe_line"]

#: What one message shows before "… N more lines".
MAX_LINES = 60
MAX_CHARS = 8000


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
