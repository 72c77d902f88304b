"""Recognising mail no person wrote: auto-replies, bounces, list traffic.

Such mail must never open a task nor be answered, or two auto-responders
(ours and theirs, or a vacation reply and a bounce) talk to each other forever.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import Message
from email.utils import collapse_rfc2231_value

_PRECEDENCE_SKIPPED = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_REPORT_TYPES = frozenset({"delivery-status", "disposition-notification"})
_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster"})


def automated_reason(
    message: Message,
    sender: str,
    *,
    own_address: str,
    allowed_lists: Iterable[str] = (),
) -> str | None:
    """Why ``message`` must be skipped, or None when a person wrote it.

    ``allowed_lists`` names List-Id values (or parts of them) that are accepted:
    a support address that is itself a mailing list (a Google Group, say)
    stamps every customer's mail with its List-Id.
    """
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        if _header(message, name):
            return f"{name} header present"
    content_type = message.get_content_type()
    if content_type == "multipart/report":
        # An RFC 2231 parameter (report-type*=...) comes as (charset, language, value).
        param = message.get_param("report-type")
        report_type = collapse_rfc2231_value(param).lower() if param else ""
        if report_type in _REPORT_TYPES:
            return f"multipart/report ({report_type})"
        return "multipart/report"
    precedence = _header(message, "Precedence").lower()
    list_id = _header(message, "List-Id")
    allowed = [value.lower() for value in allowed_lists if value]
    if list_id:
        if not any(value in list_id.lower() for value in allowed):
            return f"mailing list ({list_id})"
    elif precedence in _PRECEDENCE_SKIPPED:
        return f"Precedence: {precedence}"
    if _header(message, "Return-Path").strip() == "<>":
        return "null sender (Return-Path: <>)"
    local_part = sender.split("@", 1)[0].lower()
    if local_part in _DAEMON_LOCALPARTS:
        return f"sent by {local_part}"
    if sender and own_address and sender.lower() == own_address.lower():
        return "sent from this channel's own address"
    return None


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    return str(value).strip()
