"""What a customer's room event says, read from its JSON (no I/O here).

``read_event`` turns one timeline event into a ``Said`` — the text the agent
reads, the file to fetch, and how it relates to earlier messages — or None
for an event that is no message (a reaction, a state change, one redacted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MEDIA_TYPES = ("m.image", "m.file", "m.audio", "m.video")
EDITED = "✎ edited: "
DELETED = "(the customer deleted a message)"
ENCRYPTED = (
    "(an end-to-end encrypted message, which the desk cannot read: ask the customer to "
    "write in a room without encryption)"
)
_MXC = re.compile(r"mxc://([^/\s]+)/([A-Za-z0-9_\-]+)")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file on the homeserver, as a message announces it."""

    server: str
    media_id: str
    name: str
    content_type: str
    #: The size the sender's client announced (0 when it did not).
    size: int


@dataclass(frozen=True, slots=True)
class Said:
    event_id: str
    sender: str
    text: str
    #: Unix time (seconds) of the homeserver's timestamp.
    at: float | None
    #: The event this one continues (a reply's target, an edit's or a deletion's original).
    thread_ref: str | None = None
    #: The file to fetch (one the channel cannot fetch is said in the text instead).
    media: MediaRef | None = None
    #: ``edit_of`` or ``redacts``: the original event's id.
    attributes: dict[str, str] = field(default_factory=dict)


def read_event(event: dict[str, Any]) -> Said | None:
    event_id, sender = event.get("event_id"), event.get("sender")
    content = event.get("content")
    if (
        not isinstance(event_id, str)
        or not isinstance(sender, str)
        or not isinstance(content, dict)
    ):
        return None
    stamp = event.get("origin_server_ts")
    at = stamp / 1000 if isinstance(stamp, (int, float)) and stamp > 0 else None
    kind = event.get("type")
    if kind == "m.room.redaction":
        target = event.get("redacts") or content.get("redacts")  # room v11 moved it
        if not isinstance(target, str):
            return None
        return Said(event_id, sender, DELETED, at, target, attributes={"redacts": target})
    if kind == "m.room.encrypted":
        return Said(event_id, sender, ENCRYPTED, at)
    if kind != "m.room.message":
        return None
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    if relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
        original = relates["event_id"]
        new = content.get("m.new_content")
        body = _body(new) if isinstance(new, dict) else None
        if body is None:
            fallback = _body(content)
            if fallback is None:
                return None
            body = fallback.removeprefix("* ")
        return Said(event_id, sender, EDITED + body, at, original, attributes={"edit_of": original})
    body = _body(content)
    if body is None:
        return None  # redacted, or not a message
    reply_to = relates.get("m.in_reply_to")
    thread_ref = reply_to.get("event_id") if isinstance(reply_to, dict) else None
    thread_ref = thread_ref if isinstance(thread_ref, str) else None
    if thread_ref is not None:
        body = strip_reply_fallback(body)
    msgtype = content.get("msgtype")
    if msgtype in MEDIA_TYPES:
        return _media(event_id, sender, content, body, at, thread_ref)
    if msgtype == "m.emote":
        body = f"* {body}"
    return Said(event_id, sender, body, at, thread_ref)


def _media(
    event_id: str,
    sender: str,
    content: dict[str, Any],
    body: str,
    at: float | None,
    thread_ref: str | None,
) -> Said:
    filename = content.get("filename")
    # Since spec v1.10 a file may carry a caption: body is then the caption.
    if isinstance(filename, str) and filename.strip():
        name, caption = filename, (body if body != filename else "")
    else:
        name, caption = body, ""
    info = content.get("info")
    info = info if isinstance(info, dict) else {}
    mimetype = info.get("mimetype")
    size = info.get("size")
    url = content.get("url")
    match = _MXC.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        why = "encrypted" if isinstance(content.get("file"), dict) else "without a link"
        note = f"(a file the desk cannot fetch, {why}: {name or 'unnamed'})"
        return Said(event_id, sender, f"{caption}\n{note}".strip(), at, thread_ref)
    media = MediaRef(
        server=match.group(1),
        media_id=match.group(2),
        name=name or "attachment",
        content_type=mimetype if isinstance(mimetype, str) and mimetype else _default_type(content),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0,
    )
    return Said(event_id, sender, caption, at, thread_ref, media)


def _body(content: dict[str, Any]) -> str | None:
    body = content.get("body")
    return body if isinstance(body, str) else None


def _default_type(content: dict[str, Any]) -> str:
    return {"m.image": "image/*", "m.audio": "audio/*", "m.video": "video/*"}.get(
        str(content.get("msgtype")), "application/octet-stream"
    )


def strip_reply_fallback(body: str) -> str:
    """A reply's text without the quote older clients put first ("> <@ana:x> ...")."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> <"):
        return body
    rest = 0
    while rest < len(lines) and lines[rest].startswith(">"):
        rest += 1
    return "\n".join(lines[rest:]).lstrip("\n") or body
