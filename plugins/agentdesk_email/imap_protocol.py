"""The IMAP4rev1 wire format (RFC 3501): encoding arguments, parsing responses.

Pure functions and data, no I/O: ``imap_client`` reads lines and literals
off the socket and hands them here as ``Segment`` lists.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

STATUS_WORDS = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_CODE = re.compile(rb"^\[([^\]]*)\]\s?(.*)$", re.S)
_ATOM_END = b" ()\r\n"
_QUOTE_SAFE = re.compile(r"^[\x20-\x7e]*$")


class ImapProtocolError(Exception):
    """The server sent something this parser cannot read."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One line of a response: its text (without CRLF or a trailing literal
    marker) and the literal bytes that followed it, if it announced one."""

    text: bytes
    literal: bytes | None = None


@dataclass(slots=True)
class Response:
    """One response. ``tag`` is ``*`` for untagged data, ``+`` for a continuation."""

    tag: str
    kind: str
    number: int | None = None
    #: The response code of a status response, e.g. "UIDVALIDITY 1795382636".
    code: str = ""
    text: str = ""
    #: Parsed values after the kind: atoms as str, quoted strings as str,
    #: literals as bytes, NIL as None, parenthesised lists as lists.
    data: list[Any] = field(default_factory=list)

    @property
    def is_status(self) -> bool:
        return self.kind in STATUS_WORDS


# -- encoding --------------------------------------------------------------


def quote(value: str) -> bytes:
    """``value`` as an IMAP quoted string. Raises ValueError when it cannot be
    one (CR, LF, NUL or non-ASCII text must go as a literal instead)."""
    if not _QUOTE_SAFE.match(value):
        raise ValueError("text needs a literal")
    return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def needs_literal(value: str) -> bool:
    return not _QUOTE_SAFE.match(value)


def encode_mailbox(name: str) -> bytes:
    """A mailbox name in modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return quote("".join(out))


def decode_mailbox(name: str) -> str:
    """The inverse of ``encode_mailbox`` (without the quotes)."""

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        return base64.b64decode(padded).decode("utf-16-be", errors="replace")

    return re.sub(r"&([A-Za-z0-9+,]*)-", replace, name)


# -- parsing ---------------------------------------------------------------

_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}$")


def literal_size(line: bytes) -> int | None:
    """The size announced by a line ending in ``{n}``, or None."""
    match = _LITERAL_MARK.search(line)
    return int(match.group(1)) if match else None


def strip_literal_mark(line: bytes) -> bytes:
    return _LITERAL_MARK.sub(b"", line)


def parse_response(segments: list[Segment]) -> Response:
    """Parse one complete response (its lines and literals)."""
    if not segments:
        raise ImapProtocolError("empty response")
    first = segments[0].text
    if first.startswith(b"+"):
        return Response(tag="+", kind="CONTINUE", text=_text(first[1:].strip()))
    tag, _, rest = first.partition(b" ")
    if not tag:
        raise ImapProtocolError(f"response without a tag: {first[:80]!r}")
    tag_text = _text(tag)
    word, _, after = rest.partition(b" ")
    number: int | None = None
    if tag_text == "*" and word.isdigit():
        number = int(word)
        word, _, after = after.partition(b" ")
    kind = _text(word).upper()
    if kind in STATUS_WORDS:
        code, text = _status_text(after)
        return Response(tag=tag_text, kind=kind, number=number, code=code, text=text)
    tail = [Segment(after, segments[0].literal), *segments[1:]]
    return Response(tag=tag_text, kind=kind, number=number, data=tokenize(tail))


def _status_text(after: bytes) -> tuple[str, str]:
    match = _CODE.match(after)
    if match:
        return _text(match.group(1)), _text(match.group(2))
    return "", _text(after)


def tokenize(segments: list[Segment]) -> list[Any]:
    """Parse IMAP data values (atoms, strings, literals, NIL, lists)."""
    stack: list[list[Any]] = [[]]
    for segment in segments:
        text = segment.text
        i = 0
        length = len(text)
        while i < length:
            ch = text[i : i + 1]
            if ch == b" ":
                i += 1
            elif ch == b"(":
                stack.append([])
                i += 1
            elif ch == b")":
                if len(stack) == 1:
                    raise ImapProtocolError("unbalanced ')' in response")
                done = stack.pop()
                stack[-1].append(done)
                i += 1
            elif ch == b'"':
                value, i = _quoted(text, i)
                stack[-1].append(value)
            else:
                value_bytes, i = _atom(text, i)
                atom = _text(value_bytes)
                stack[-1].append(None if atom.upper() == "NIL" else atom)
        if segment.literal is not None:
            stack[-1].append(segment.literal)
    while len(stack) > 1:  # tolerate a missing ')' at the very end
        done = stack.pop()
        stack[-1].append(done)
    return stack[0]


def _quoted(text: bytes, start: int) -> tuple[str, int]:
    out = bytearray()
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == 0x5C and i + 1 < len(text):  # backslash
            out.append(text[i + 1])
            i += 2
        elif ch == 0x22:
            return out.decode("utf-8", errors="replace"), i + 1
        else:
            out.append(ch)
            i += 1
    raise ImapProtocolError("unterminated quoted string")


def _atom(text: bytes, start: int) -> tuple[bytes, int]:
    i = start
    depth = 0
    while i < len(text):
        ch = text[i : i + 1]
        if ch == b"[":
            depth += 1
        elif ch == b"]":
            depth = max(depth - 1, 0)
        elif depth == 0 and ch in (b" ", b"(", b")"):
            break
        i += 1
    return text[start:i], i


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def fetch_items(response: Response) -> dict[str, Any]:
    """The name/value pairs of a FETCH response, names upper-cased."""
    if not response.data or not isinstance(response.data[0], list):
        return {}
    values = response.data[0]
    items: dict[str, Any] = {}
    for index in range(0, len(values) - 1, 2):
        name = values[index]
        if isinstance(name, str):
            items[name.upper()] = values[index + 1]
    return items
