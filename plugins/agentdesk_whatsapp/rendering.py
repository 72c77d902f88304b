"""A customer's WhatsApp message as the agent reads it.

Text is the text; a picture, voice note, video, sticker or file is an
attachment (its caption the text); a location and a contact card become
readable lines; a button tap or list choice is the title the customer
tapped. What the desk cannot show says so rather than vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Message types that carry one media file, by the key holding it.
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file a message carries, to fetch from Meta by its media id."""

    media_id: str
    kind: str  # image, audio, video, document, sticker
    mime_type: str
    #: The file name the customer's phone gave (documents only).
    filename: str = ""
    voice: bool = False


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    media: tuple[MediaRef, ...] = ()
    #: The message the customer answered (WhatsApp's quoted reply), if any.
    replying_to: str | None = None


def render(kind: str, body: dict[str, Any]) -> Rendered:
    """The text and media of a message object of type ``kind``."""
    context = body.get("context")
    quoted = context.get("id") if isinstance(context, dict) else None
    replying_to = quoted if isinstance(quoted, str) and quoted else None
    content = body.get(kind)
    part = content if isinstance(content, dict) else {}
    if kind == "text":
        return Rendered(_text(part.get("body")), (), replying_to)
    if kind in MEDIA_TYPES:
        media_id = part.get("id")
        caption = _text(part.get("caption"))
        if not isinstance(media_id, str) or not media_id:
            return Rendered(_join(caption, f"[a {kind} without its file]"), (), replying_to)
        ref = MediaRef(
            media_id=media_id,
            kind=kind,
            mime_type=_text(part.get("mime_type")).split(";")[0].strip()[:100]
            or "application/octet-stream",
            filename=_text(part.get("filename"))[:200],
            voice=part.get("voice") is True,
        )
        return Rendered(caption, (ref,), replying_to)
    if kind == "location":
        return Rendered(location(part), (), replying_to)
    if kind == "contacts":
        cards = content if isinstance(content, list) else []
        lines = [contact_card(card) for card in cards if isinstance(card, dict)]
        return Rendered("\n".join(lines) or "👤 Contact: (empty card)", (), replying_to)
    if kind == "reaction":
        emoji = _text(part.get("emoji"))
        said = f"(reacted {emoji} to a message)" if emoji else "(removed a reaction)"
        target = part.get("message_id")
        return Rendered(said, (), target if isinstance(target, str) and target else replying_to)
    if kind == "button":
        return Rendered(_text(part.get("text")) or _text(part.get("payload")), (), replying_to)
    if kind == "interactive":
        return Rendered(_interactive(part), (), replying_to)
    return Rendered(_unsupported(kind, body), (), replying_to)


def location(part: dict[str, Any]) -> str:
    """``📍 Location: Eiffel Tower, Champ de Mars, Paris (48.85837, 2.294481)``."""
    words = [w for w in (_text(part.get("name")), _text(part.get("address"))) if w]
    latitude, longitude = _coordinate(part.get("latitude")), _coordinate(part.get("longitude"))
    where = f"({latitude}, {longitude})" if latitude and longitude else ""
    line = "📍 Location: " + ", ".join(words) + (f" {where}" if words and where else where)
    if not words and not where:
        line = "📍 Location: (no coordinates)"
    url = _text(part.get("url"))
    return f"{line}\n{url}" if url else line


def contact_card(card: dict[str, Any]) -> str:
    """``👤 Contact: Ana Lopez, +33 6 12 34 56 78, ana@example.org, Acme``."""
    name = card.get("name")
    formatted = _text(name.get("formatted_name")) if isinstance(name, dict) else ""
    if not formatted and isinstance(name, dict):
        formatted = " ".join(
            _text(name.get(key)) for key in ("first_name", "last_name") if _text(name.get(key))
        )
    phones = [_text(p.get("phone")) for p in _dicts(card.get("phones")) if _text(p.get("phone"))]
    emails = [_text(e.get("email")) for e in _dicts(card.get("emails")) if _text(e.get("email"))]
    org = card.get("org")
    company = _text(org.get("company")) if isinstance(org, dict) else ""
    parts = [formatted or "(no name)", *phones[:5], *emails[:5]]
    if company:
        parts.append(company)
    return "👤 Contact: " + ", ".join(parts)


def _interactive(part: dict[str, Any]) -> str:
    for key in ("button_reply", "list_reply"):
        reply = part.get(key)
        if isinstance(reply, dict):
            title = _text(reply.get("title"))
            description = _text(reply.get("description"))
            return _join(title, description) or "(a choice without a title)"
    flow = part.get("nfm_reply")
    if isinstance(flow, dict):
        return _text(flow.get("body")) or "(answered a form)"
    return "(an interactive answer the desk cannot show)"


def _unsupported(kind: str, body: dict[str, Any]) -> str:
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    why = ""
    if isinstance(first, dict):
        data = first.get("error_data")
        why = _text(data.get("details")) if isinstance(data, dict) else ""
        why = why or _text(first.get("title"))
    shown = f"[a {kind} message the desk cannot show"
    return shown + (f": {why}]" if why else "]")


def _coordinate(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _join(*lines: str) -> str:
    return "\n".join(line for line in lines if line)
