"""Message-IDs, References and task tokens: how email conversations stay threaded.

The rules (also in docs/channels/email.md):

- A conversation's ``thread_ref`` is its root Message-ID: the first entry of
  ``References``, else ``In-Reply-To``, else the message's own Message-ID. Mail
  clients keep the first References entry when they reply, so every message of
  one conversation carries the same root.
- Our replies get a Message-ID derived from the outbox key (a retry reuses
  it) that also carries the task number, and a ``[#1042]`` token in the
  subject. Either lets a reply whose References were lost find its task.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_MSGID = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
# Our own Message-IDs: <ad.{task number}.{hash of the outbox key}@domain>
_OURS = re.compile(r"^<ad\.(\d{1,12})\.[0-9a-f]{24}@(.+)>$")
_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr|sv|vs|antw|r)\s*(\[\d+\])?\s*:\s*)+", re.I)
#: How many References entries we send: the root plus the most recent ones.
MAX_REFERENCES = 20


def parse_message_ids(value: str | None) -> list[str]:
    """The Message-IDs in a header value, as ``<id@host>``, in order.

    Anything that is not a well-formed ``<left@right>`` is dropped, so a hostile
    header can never smuggle text into the References we send back.
    """
    if not value:
        return []
    return [f"<{match.group(1)}>" for match in _MSGID.finditer(value)]


def normalize_message_id(value: str | None) -> str | None:
    """``value`` as ``<id@host>`` when it holds one Message-ID, else None."""
    if not value:
        return None
    found = parse_message_ids(value if "<" in value else f"<{value.strip()}>")
    return found[0] if found else None


def thread_root(
    references: Iterable[str], in_reply_to: str | None, own_id: str | None
) -> str | None:
    """The conversation's stable reference (see the module docstring)."""
    for candidate in references:
        return candidate
    return in_reply_to or own_id


def message_id_for(key: str, task_number: int, domain: str) -> str:
    """The Message-ID of the reply with outbox key ``key``: the same key always
    gives the same Message-ID, so a retried send is recognisable as the same mail."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return f"<ad.{max(task_number, 0)}.{digest}@{domain}>"


def task_number_from_ids(ids: Iterable[str], domain: str) -> int | None:
    """The task number carried by one of our own Message-IDs among ``ids``."""
    for message_id in ids:
        match = _OURS.match(message_id)
        if match and match.group(2).lower() == domain.lower():
            return int(match.group(1))
    return None


def task_number_from_subject(subject: str) -> int | None:
    """The number in a ``[#1042]`` token, the last one when there are several."""
    found = _TOKEN.findall(subject)
    return int(found[-1]) if found else None


def reply_subject(subject: str, task_number: int, *, is_reply: bool) -> str:
    """The subject of our message: the customer's subject, one ``Re:``, and the task token.

    ``subject`` must already be a single line.
    """
    base = _TOKEN.sub("", subject).strip()
    base = re.sub(r"\s{2,}", " ", base)
    if is_reply:
        base = _REPLY_PREFIX.sub("", base).strip()
        base = f"Re: {base}" if base else "Re: your request"
    elif not base:
        base = "Your request"
    return f"{base} [#{task_number}]"


def references_for(
    thread_ref: str | None, references: Iterable[str], in_reply_to: str | None
) -> list[str]:
    """The References of a reply: the conversation's messages on this channel,
    oldest first, then the message replied to. The conversation's root
    (``thread_ref``) goes in front only when the list does not hold it already
    (a long conversation whose oldest messages the desk no longer lists):
    ``thread_ref`` is the root of the *latest* message, which is that message
    itself when the customer wrote afresh quoting only the task number.
    Duplicates and non-Message-IDs are dropped; the result is bounded."""
    known: list[str] = []
    for candidate in (*references, in_reply_to):
        normalized = normalize_message_id(candidate)
        if normalized and normalized not in known:
            known.append(normalized)
    root = normalize_message_id(thread_ref)
    chain = known if root is None or root in known else [root, *known]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain
