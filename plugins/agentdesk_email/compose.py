"""Building our outgoing mail from an ``Outbound``, safe against header injection.

Every value that comes from a customer (their name, the subject they wrote,
the Message-IDs they sent) is made single-line and checked before it reaches
a header, and ``email.policy.SMTP`` refuses CR/LF in headers as a second wall.
"""

from __future__ import annotations

import email.policy
import email.utils
import time
from email.headerregistry import Address
from email.message import EmailMessage

from agentdesk.plugin import Outbound, PermanentDeliveryError

from .threading_refs import normalize_message_id, references_for, reply_subject

MAX_SUBJECT = 200
MAX_NAME = 100


def single_line(text: str, limit: int) -> str:
    """Control characters (CR and LF among them) become spaces; runs of
    whitespace collapse; the result is at most ``limit`` characters."""
    cleaned = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned[:limit].strip()


def recipient(to: str, name: str) -> Address:
    """The customer's address as a header value; PermanentDeliveryError when
    ``to`` is not exactly one plain address."""
    to = to.strip()
    if not to:
        raise PermanentDeliveryError("no recipient address")
    if any(ch in to for ch in '\r\n\t ,;<>"()') or to.count("@") != 1:
        raise PermanentDeliveryError(f"not a single email address: {to[:80]!r}")
    try:
        return Address(display_name=single_line(name, MAX_NAME), addr_spec=to)
    except (ValueError, IndexError) as exc:  # the email package's parse errors are ValueErrors
        raise PermanentDeliveryError(f"not a valid email address: {to[:80]!r} ({exc})") from None


def build_message(
    outbound: Outbound,
    *,
    message_id: str,
    from_address: str,
    from_name: str,
    now: float | None = None,
) -> EmailMessage:
    """The reply as an ``EmailMessage`` (policy SMTP: CRLF line ends)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=single_line(from_name, MAX_NAME), addr_spec=from_address)
    message["To"] = recipient(outbound.to, outbound.customer_name)
    in_reply_to = normalize_message_id(outbound.in_reply_to)
    subject = single_line(outbound.subject, MAX_SUBJECT)
    message["Subject"] = reply_subject(
        subject, outbound.task_number, is_reply=bool(in_reply_to or outbound.thread_ref)
    )
    message["Date"] = email.utils.formatdate(
        now if now is not None else time.time(), localtime=False
    )
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    chain = references_for(outbound.thread_ref, outbound.references, in_reply_to)
    if chain:
        message["References"] = " ".join(chain)
    message.set_content(_body_text(outbound.text))
    if outbound.html:
        message.add_alternative(outbound.html, subtype="html")
    return message


def header_problems(outbound: Outbound) -> list[str]:
    """What ``build_message`` had to neutralise in ``outbound``, for the log."""
    problems = []
    for name, value in (("subject", outbound.subject), ("customer name", outbound.customer_name)):
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            problems.append(f"control characters (line breaks) in the {name} made spaces")
    given = [v for v in (outbound.in_reply_to, *outbound.references) if v]
    dropped = [v for v in given if normalize_message_id(v) != v.strip()]
    if dropped:
        problems.append(f"{len(dropped)} malformed Message-ID(s) left out of the threading headers")
    return problems


def _body_text(text: str) -> str:
    # Normalise line ends; the SMTP policy writes CRLF and dot-stuffing is smtplib's job.
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    return body if body.endswith("\n") else body + "\n"
