"""One fetched message → an ``InboundMessage`` for the desk, or a reason to skip it.

Runs in a worker thread: parsing a large message and writing its
attachments must not hold the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from agentdesk.plugin import InboundMessage

from .attachments import store_attachments
from .automated import automated_reason
from .parsing import ParsedMail, parse_mail
from .settings import EmailSettings
from .threading_refs import task_number_from_ids, task_number_from_subject, thread_root


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes
    size: int
    #: True when only the headers were downloaded (the message is over the size cap).
    headers_only: bool = False


@dataclass(frozen=True, slots=True)
class Conversion:
    """The outcome for one message: ``message`` to emit, or ``skipped`` saying why."""

    message: InboundMessage | None
    skipped: str | None = None
    #: What went wrong but was worked around (charset, MIME, attachments), for the log.
    problems: tuple[str, ...] = ()


def convert(fetched: FetchedMail, settings: EmailSettings, data_dir: Path) -> Conversion:
    """Parse, filter and store one message. Never raises on bad mail."""
    parsed = parse_mail(fetched.raw, settings.max_attachment_bytes)
    reason = automated_reason(
        parsed.message,
        parsed.sender,
        own_address=settings.address,
        allowed_lists=settings.allow_lists,
    )
    if reason:
        return Conversion(
            None, skipped=f"automated mail ({reason})", problems=tuple(parsed.problems)
        )
    if not parsed.sender:
        return Conversion(
            None, skipped="no usable sender address (From)", problems=tuple(parsed.problems)
        )
    external_id = parsed.message_id or _content_id(fetched.raw)
    attributes: dict[str, str] = {"mailbox": settings.mailbox, "imap_uid": str(fetched.uid)}
    problems = list(parsed.problems)
    text = parsed.text
    if fetched.headers_only:
        text = (
            f"(This message is {fetched.size / 1048576:.1f} MB, over this channel's "
            f"{settings.max_message_bytes / 1048576:.0f} MB limit, and was not downloaded. "
            "Open it in the mailbox.)"
        )
        attributes["not_downloaded"] = f"{fetched.size} bytes"
        problems.append(f"message of {fetched.size} bytes not downloaded (over max_message_mb)")
    stored = store_attachments(
        parsed.attachments, data_dir, external_id, settings.max_attachment_bytes
    )
    if stored.notes:
        attributes["attachment_notes"] = "\n".join(stored.notes)
        problems.extend(stored.notes)
    if parsed.full_text != text and not fetched.headers_only:
        attributes["full_text"] = parsed.full_text
    if parsed.reply_to and parsed.reply_to != parsed.sender:
        attributes["reply_to"] = parsed.reply_to
    if problems:
        attributes["problems"] = "\n".join(problems)
    message = InboundMessage(
        identity=parsed.sender,
        text=text,
        external_id=external_id,
        customer_name=parsed.sender_name,
        subject=parsed.subject,
        html=None if fetched.headers_only else parsed.html,
        thread_ref=thread_root(parsed.references, parsed.in_reply_to, external_id),
        task_number=_task_number(parsed, settings.message_id_domain),
        at=parsed.date if parsed.date and parsed.date > 0 else None,
        attachments=tuple(stored.attachments),
        attributes=attributes,
    )
    return Conversion(message, problems=tuple(problems))


def _task_number(parsed: ParsedMail, domain: str) -> int | None:
    ids = [*parsed.references, *([parsed.in_reply_to] if parsed.in_reply_to else [])]
    number = task_number_from_ids(reversed(ids), domain) or task_number_from_subject(parsed.subject)
    return number if number and number > 0 else None


def _content_id(raw: bytes) -> str:
    # A message without Message-ID still needs a stable id so a re-read is a duplicate.
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"
