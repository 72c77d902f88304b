"""Readable plain text from an HTML mail body.

Mail HTML is layout, not a document: the converter keeps what a person reads
(paragraphs, line breaks, lists, quotes, link targets) and drops the rest
(styles, scripts, tracking images, hidden preheaders).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {
        "address", "article", "aside", "div", "dl", "dt", "dd", "fieldset", "figure",
        "footer", "form", "header", "main", "nav", "ol", "section", "table", "ul",
        "center",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr"})
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
_VOID = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "wbr", "source"}
)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # finished lines: (quote depth, text)
        self.current: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.quote_depth = 0
        self.list_stack: list[list[int]] = []  # [counter] per open list; -1 for bullets
        self.link_stack: list[tuple[str | None, int]] = []
        self.hidden_stack: list[str] = []
        self.pending_blank = False

    # -- structure ---------------------------------------------------------

    def _break(self, blank: bool = False) -> None:
        text = "".join(self.current)
        if self.pre_depth == 0:
            text = _SPACES.sub(" ", text).strip()
        if text:
            if self.pending_blank and self.lines and self.lines[-1][1]:
                # A blank line inside a quote only when both neighbours are quoted.
                self.lines.append((min(self.lines[-1][0], self.quote_depth), ""))
            self.lines.append((self.quote_depth, text))
            self.pending_blank = False
        self.current = []
        if blank:
            self.pending_blank = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if tag not in _VOID and _is_hidden(attributes):
            self.hidden_stack.append(tag)
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self._break()
        elif tag == "hr":
            self._break(blank=True)
            self.current.append("---")
            self._break(blank=True)
        elif tag == "blockquote":
            self._break(blank=True)
            self.quote_depth += 1
        elif tag == "pre":
            self._break(blank=True)
            self.pre_depth += 1
        elif tag in _PARAGRAPH:
            self._break(blank=True)
        elif tag in ("ul", "ol"):
            self._break()
            self.list_stack.append([1 if tag == "ol" else -1])
        elif tag == "li":
            self._break()
            indent = "  " * max(len(self.list_stack) - 1, 0)
            if self.list_stack and self.list_stack[-1][0] > 0:
                self.current.append(f"{indent}{self.list_stack[-1][0]}. ")
                self.list_stack[-1][0] += 1
            else:
                self.current.append(f"{indent}- ")
        elif tag == "tr" or tag in _BLOCK:
            self._break()
        elif tag in ("td", "th"):
            if self.current and "".join(self.current).strip():
                self.current.append("  ")
        elif tag == "a":
            self.link_stack.append((attributes.get("href"), len("".join(self.current))))
        elif tag == "img":
            alt = (attributes.get("alt") or "").strip()
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(self.skip_depth - 1, 0)
            return
        if self.hidden_stack and self.hidden_stack[-1] == tag:
            self.hidden_stack.pop()
            self.skip_depth = max(self.skip_depth - 1, 0)
            return
        if self.skip_depth:
            return
        if tag == "blockquote":
            self._break(blank=True)
            self.quote_depth = max(self.quote_depth - 1, 0)
        elif tag == "pre":
            self._break(blank=True)
            self.pre_depth = max(self.pre_depth - 1, 0)
        elif tag in _PARAGRAPH:
            self._break(blank=True)
        elif tag in ("ul", "ol"):
            self._break()
            if self.list_stack:
                self.list_stack.pop()
        elif tag == "li" or tag == "tr" or tag in _BLOCK:
            self._break()
        elif tag == "a" and self.link_stack:
            href, start = self.link_stack.pop()
            self._add_link_target(href, "".join(self.current)[start:])

    def _add_link_target(self, href: str | None, label: str) -> None:
        if not href or not href.startswith(("http://", "https://")):
            return
        # Show the target only when the label does not already say it.
        if href.rstrip("/") not in label:
            self.current.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._break()
                self.current.append(part)
            return
        self.current.append(data)

    def result(self) -> str:
        self._break()
        return "\n".join((("> " * depth) + text).rstrip() for depth, text in self.lines)


def _is_hidden(attributes: dict[str, str | None]) -> bool:
    # Preheaders and tracking blocks are hidden with inline styles.
    style = (attributes.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "hidden" in attributes


def html_to_text(html: str) -> str:
    """Plain text a person can read from ``html``. Never raises."""
    converter = _Converter()
    try:
        converter.feed(html)
        converter.close()
    except Exception:  # html.parser is lenient; this guards against the unexpected
        pass
    return converter.result()
