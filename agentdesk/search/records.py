"""What the index keeps of the store's objects, and how it names them."""

from __future__ import annotations

import math
import unicodedata

from agentdesk.domain import CallRecord, Customer, Event, Message, Note, Task
from agentdesk.query.fold import PART_SEPARATOR, fold, phone_forms

# Between the texts of a document: a phrase never runs from one into the next.
JOIN = f" {PART_SEPARATOR} "

# A document's row id is its task's last activity in milliseconds, shifted
# left to leave room for tasks active in the same millisecond.
SLOT_BITS = 20
_TIME_LIMIT = 8_000_000_000.0  # seconds either side of 1970


def time_rowid(at: float) -> int:
    """The lowest document row id for a last activity at ``at`` (epoch seconds).

    Times beyond the years 1716 to 2223 (a clock in milliseconds by mistake,
    say) are held at those bounds so that the row id fits SQLite's 64 bits.
    """
    if not math.isfinite(at):
        at = 0.0
    at = min(max(at, -_TIME_LIMIT), _TIME_LIMIT)
    return math.floor(at * 1000) << SLOT_BITS


def last_activity(task: Task) -> float:
    """The task's last activity as the index keeps it (0 for a time that is not one)."""
    return task.updated_at if math.isfinite(task.updated_at) else 0.0


def event_text(event: Event) -> str:
    """The searchable text of an event (messages, notes and call summaries), in NFC.

    Composed accents keep one character per accented letter for the snippet
    shortlist's LIKE patterns.
    """
    if isinstance(event, Message | Note):
        text = event.text
    elif isinstance(event, CallRecord):
        text = event.summary
    else:
        return ""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def customer_columns(customer: Customer) -> tuple[str, str, str]:
    """(name, people, search): ``customer_values`` without the fingerprint."""
    values = [identity.value for identity in customer.identities]
    people = JOIN.join([customer.name, *values])
    lines = [fold(customer.name), *(fold(v) for v in values)]
    for identity in customer.identities:
        if identity.kind == "phone":
            lines.extend(phone_forms(identity.value))
    return customer.display_name, people, "\n".join(lines)
