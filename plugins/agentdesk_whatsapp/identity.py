"""The customer's address on WhatsApp: their WhatsApp id (``wa_id``).

Meta names a customer by their phone number in international form without
the ``+`` (``33612345678``). An agent may type it with the ``+``, spaces,
dots, dashes or brackets (``+33 6 12 34 56 78``): the desk compares the
digits, so both are one customer, and replies go to the digits.
"""

from __future__ import annotations

import re

from agentdesk.plugin import IdentityKind

_WA_ID = re.compile(r"[1-9][0-9]{6,14}")
_SEPARATORS = re.compile(r"[\s().-]")


def wa_id(value: str) -> str | None:
    """The WhatsApp id ``value`` writes, or None when it is not one."""
    compact = _SEPARATORS.sub("", value.strip())
    compact = compact.removeprefix("+")
    return compact if _WA_ID.fullmatch(compact) else None


class WhatsAppNumberKind(IdentityKind):
    """A WhatsApp id, compared on its digits."""

    def normalize(self, value: str) -> str:
        found = wa_id(value)
        return found if found is not None else value.strip()

    def problem(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return "Type the customer's WhatsApp number."
        if len(value) > self.max_length:
            return "That WhatsApp number is too long."
        if wa_id(value) is None:
            return (
                f"{value!r} is not a WhatsApp number: write it in international form, "
                f"with the country code (like {self.example})."
            )
        return None


#: The identity kind the channel declares.
WHATSAPP = WhatsAppNumberKind(
    "whatsapp", label="WhatsApp number", example="+33612345678", max_length=32
)
