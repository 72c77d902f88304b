"""Identity kinds a channel brings: how the desk reads and compares an address
of a kind it does not know.

The desk knows ``email``, ``phone``, ``chat`` and ``social``. A channel that
reaches customers by another kind of address (a Matrix user id, a WhatsApp
``wa_id``) declares it on its class::

    class MatrixChannel(Channel):
        identity_kinds = (
            IdentityKind(
                "matrix",
                label="Matrix user",
                pattern=r"@[^:\\s]+:[^\\s]+",
                example="@ana:example.org",
                case_sensitive=False,
            ),
        )
        capabilities = Capabilities(kind="social", identity_kind="matrix")

Two addresses are the same customer when their ``normalize`` forms are
equal. Subclass ``IdentityKind`` to normalize or check in another way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The kinds the desk knows without a declaration.
BUILTIN_IDENTITY_KINDS = ("email", "phone", "chat", "social")


@dataclass(frozen=True)
class IdentityKind:
    """One kind of customer address."""

    #: The kind's name, as in ``Capabilities.identity_kind`` ("matrix").
    name: str
    #: What the console calls it ("Matrix user"); the name when empty.
    label: str = ""
    #: A regular expression a whole address must match (after trimming spaces).
    pattern: str | None = None
    #: An address shown to the agent as an example of the form.
    example: str = ""
    #: False: ``@Ana:Example.org`` and ``@ana:example.org`` are the same customer.
    case_sensitive: bool = True
    #: The longest address accepted.
    max_length: int = 320

    def normalize(self, value: str) -> str:
        """The form two addresses are compared in."""
        value = value.strip()
        return value if self.case_sensitive else value.lower()

    def problem(self, value: str) -> str | None:
        """A sentence for the agent when ``value`` cannot be an address of this kind."""
        value = value.strip()
        if not value:
            return "Type the address to use."
        if len(value) > self.max_length:
            return f"That {self.label or self.name} is too long."
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            hint = f" (like {self.example})" if self.example else ""
            return f"{value!r} is not a {self.label or self.name}{hint}."
        return None
