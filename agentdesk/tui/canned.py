"""Canned responses: short triggers that expand to prepared text with fields.

A response such as ``"Hi {customer.first_name}, your refund for #{task.number} is on
its way."`` is filled from the customer, the task and the agent. Unknown fields
stay as typed, so a mistake in the configuration shows instead of vanishing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agentdesk.domain import Customer, Task

TRIGGER_PREFIX = ";"
_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")
_TRIGGER = re.compile(r";([\w.-]+)$")


def normalize_canned(canned: Mapping[str, str] | None) -> dict[str, str]:
    """Config triggers may be written with or without the leading ``;``."""
    return {key.lstrip(TRIGGER_PREFIX): text for key, text in (canned or {}).items()}


def canned_fields(customer: Customer | None, task: Task | None, agent: str) -> dict[str, str]:
    """The values a canned response may use, by field name."""
    fields = {"agent.name": agent, "agent": agent}
    if customer is not None:
        email = customer.identity("email")
        phone = customer.identity("phone")
        fields.update(
            {
                "customer.name": customer.display_name,
                "customer.first_name": customer.first_name,
                "customer.email": email.value if email else "",
                "customer.phone": phone.value if phone else "",
            }
        )
    if task is not None:
        fields.update(
            {
                "task.number": str(task.number),
                "task.subject": task.subject,
                "task.channel": task.channel_kind or task.channel,
            }
        )
    return fields


def fill(template: str, fields: Mapping[str, str]) -> str:
    """Replace ``{customer.first_name}``-style fields that have a value."""
    return _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def trigger_at_end(text_before_cursor: str) -> str | None:
    """The trigger word (``refund`` for ``...;refund``) ending right before the cursor."""
    match = _TRIGGER.search(text_before_cursor)
    return match.group(1) if match else None
