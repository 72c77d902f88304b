"""Raw RFC 5322 bytes → a ``ParsedMail`` the channel can hand to the desk.

The parser never raises on bad input: broken MIME, missing headers, wrong or
unknown charsets are read as well as they can be, and each shortcut taken is
listed in ``ParsedMail.problems`` so the channel can log it.
"""

from __future__ import annotations

import datetime
import email
import email.utils
from dataclasses import dataclass, field
from email.message import Message
from email.policy import Compat32

from .charsets import decode_bytes, decode_header_value
from .html_text import html_to_text
from .quoting import trim_quoted
from .threading_refs import normalize_message_id, parse_message_ids

#: Longest body text kept, in characters; longer text is cut (and the cut is noted).
MAX_TEXT_CHARS = 200_000


class _RawHeaderPolicy(Compat32):
    """Compat32 that hands header values back untouched (8-bit bytes as
    surrogate escapes), so the charset guess is ours rather than a ``Header``
    object's."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return value


_POLICY = _RawHeaderPolicy()


@dataclass(frozen=True, slots=True)
class ParsedPart:
    """An attachment (or an inline part that is not body text)."""

    filename: str
    content_type: str
    #: The decoded bytes; None when the part was too big to keep.
    payload: bytes | None
    size: int


@dataclass(slots=True)
class ParsedMail:
    message: Message
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    sender: str  # lower-case address, "" when missing or unreadable
    sender_name: str
    reply_to: str
    subject: str
    date: float | None
    #: The whole body text (HTML turned into text when there is no plain part).
    full_text: str
    #: ``full_text`` without the quoted original.
    text: str
    html: str | None
    attachments: list[ParsedPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_mail(raw: bytes, max_part_bytes: int | None = None) -> ParsedMail:
    """Parse one message. Never raises. Attachments over ``max_part_bytes`` are
    listed with their size but not decoded (their payload is None)."""
    problems: list[str] = []
    message = email.message_from_bytes(raw, policy=_POLICY)
    for defect in message.defects:
        problems.append(f"MIME: {type(defect).__name__}")

    def header(name: str) -> str:
        decoded = decode_header_value(_header_text(message.get(name)))
        if decoded.problem:
            problems.append(f"{name} header: {decoded.problem}")
        return " ".join(decoded.text.split())

    sender_name, sender = _address(message.get("From"), problems, "From")
    _, reply_to = _address(message.get("Reply-To"), problems, "Reply-To")
    subject = _single_line(header("Subject"))
    message_id = normalize_message_id(_header_text(message.get("Message-ID")))
    in_reply_to_ids = parse_message_ids(_header_text(message.get("In-Reply-To")))
    references = parse_message_ids(_header_text(message.get("References")))
    date = _date(_header_text(message.get("Date")))

    collector = _Collector(problems, max_part_bytes)
    collector.walk(message)
    html = "\n".join(collector.html) if collector.html else None
    full_text = "\n\n".join(part.strip("\n") for part in collector.plain if part.strip())
    if not full_text and html:
        full_text = html_to_text(html)
    if len(full_text) > MAX_TEXT_CHARS:
        problems.append(f"body text cut to {MAX_TEXT_CHARS} characters")
        full_text = full_text[:MAX_TEXT_CHARS]
    if html is not None and len(html) > MAX_TEXT_CHARS:
        html = html[:MAX_TEXT_CHARS]
    return ParsedMail(
        message=message,
        message_id=message_id,
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        subject=subject,
        date=date,
        full_text=full_text,
        text=trim_quoted(full_text),
        html=html,
        attachments=collector.attachments,
        problems=list(dict.fromkeys(problems)),
    )


@dataclass(slots=True)
class _Collector:
    """Walks the MIME tree: body text into ``plain``/``html``, the rest into
    ``attachments``. Both alternatives are kept: the plain one becomes the
    text, the HTML one ``html`` (and the text too when there is no plain part)."""

    problems: list[str]
    max_part_bytes: int | None
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedPart] = field(default_factory=list)

    def walk(self, message: Message) -> None:
        if message.is_multipart():
            children = message.get_payload()
            if not isinstance(children, list):
                return
            for child in children:
                if isinstance(child, Message):
                    self.problems.extend(f"MIME: {type(d).__name__}" for d in child.defects)
                    self.walk(child)
            return
        content_type = message.get_content_type()
        disposition = (message.get_content_disposition() or "").lower()
        filename = _filename(message, self.problems)
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not (filename and disposition == "inline" and self.plain):
            payload = _payload(message, self.problems)
            decoded = decode_bytes(payload, message.get_content_charset())
            if decoded.problem:
                self.problems.append(f"{content_type} part: {decoded.problem}")
            text = _clean_body(decoded.text)
            (self.plain if content_type == "text/plain" else self.html).append(text)
            return
        if content_type == "message/rfc822" and not filename:
            filename = "forwarded-message.eml"
        if not filename:
            extension = {"text/calendar": ".ics", "text/plain": ".txt"}.get(content_type, ".bin")
            filename = f"part-{len(self.attachments) + 1}{extension}"
        size = _encoded_size(message)
        if self.max_part_bytes is not None and size is not None and size > self.max_part_bytes:
            # Too big to keep: its size is known without decoding megabytes for nothing.
            self.attachments.append(ParsedPart(filename, content_type, None, size))
            return
        payload = _payload(message, self.problems)
        self.attachments.append(ParsedPart(filename, content_type, payload, len(payload)))


def _encoded_size(part: Message) -> int | None:
    """The decoded size of a leaf part, computed from its encoded text; None
    when it cannot be told without decoding."""
    body = part.get_payload()
    if not isinstance(body, str):
        return None
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        stripped = body.rstrip()
        characters = len(body) - sum(body.count(ch) for ch in "\r\n\t ")
        padding = 2 if stripped.endswith("==") else 1 if stripped.endswith("=") else 0
        return max(characters * 3 // 4 - padding, 0)
    if encoding in ("", "7bit", "8bit", "binary"):
        return len(body)
    return None


def _payload(part: Message, problems: list[str]) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=_POLICY)
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a payload the email package cannot decode at all
        problems.append(f"undecodable part: {exc}")
        return b""
    for defect in part.defects:
        problems.append(f"MIME: {type(defect).__name__}")
    return data if isinstance(data, bytes) else b""


def _filename(part: Message, problems: list[str]) -> str:
    raw = part.get_filename()  # handles RFC 2231 continuations and charsets
    if raw is None:
        return ""
    decoded = decode_header_value(_header_text(raw))
    if decoded.problem:
        problems.append(f"attachment name: {decoded.problem}")
    return _single_line(decoded.text).strip()


def _address(value: object, problems: list[str], name: str) -> tuple[str, str]:
    text = _header_text(value)
    if not text:
        return "", ""
    display, address = email.utils.parseaddr(decode_header_value(text).text)
    if "@" not in address:
        # parseaddr gives up on some forms; try the raw (still encoded) value.
        display, address = email.utils.parseaddr(text)
    address = address.strip().lower()
    if "@" not in address or any(ch in address for ch in ' \t\r\n<>,;"\\'):
        problems.append(f"{name} header has no usable address: {text[:80]!r}")
        address = ""
    display_decoded = decode_header_value(display)
    return _single_line(display_decoded.text).strip(), address


def _header_text(value: object) -> str:
    """A header value as text, guessing the charset of raw 8-bit bytes."""
    if value is None:
        return ""
    text = str(value)
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return decode_bytes(raw, None).text


def _date(value: str) -> float | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def _clean_body(text: str) -> str:
    """Unix line ends and no control characters but tab and newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\t\n" or not (ord(ch) < 32 or ord(ch) == 127))


def _single_line(text: str) -> str:
    """Control characters (CR, LF, escapes) become spaces; the console shows one line."""
    return "".join(" " if (ord(ch) < 32 or ord(ch) == 127) else ch for ch in text)
