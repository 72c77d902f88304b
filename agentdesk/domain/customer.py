"""Customers and the identities by which channels know them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

import msgspec


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SOCIAL = "social"


_NON_DIGITS = re.compile(r"[^\d]")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
_SOCIAL = re.compile(r"^@?[\w.]{1,64}$")


class _Email:
    name = "email"

    def normalize(self, value: str) -> str:
        return value.strip().lower()

    def problem(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return "Type the address to use."
        return None if _EMAIL.match(value) else f"{value!r} is not an email address."


class _Phone:
    """Compared on the digits, a leading ``+`` kept."""

    name = "phone"

    def normalize(self, value: str) -> str:
        value = value.strip()
        digits = _NON_DIGITS.sub("", value)
        return ("+" + digits) if value.startswith("+") else digits

    def problem(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return "Type the address to use."
        digits = self.normalize(value).lstrip("+")
        if _PHONE.match(value) and 6 <= len(digits) <= 15:
            return None
        return f"{value!r} is not a phone number (digits, optionally starting with +)."


class _Social:
    """Handles drop a leading ``@`` and compare case-insensitively."""

    name = "social"

    def normalize(self, value: str) -> str:
        return value.strip().lstrip("@").lower()

    def problem(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return "Type the address to use."
        return None if _SOCIAL.match(value) else f"{value!r} is not a handle."


class _Opaque:
    """An id the channel made (a chat session): compared as given."""

    def __init__(self, name: str) -> None:
        self.name = name

    def normalize(self, value: str) -> str:
        return value.strip()

    def problem(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return "Type the address to use."
        return None if len(value) <= 200 else "That identity is too long."


#: The identity kinds every desk knows, by name.
BUILTIN_RULES = {rules.name: rules for rules in (_Email(), _Phone(), _Opaque("chat"), _Social())}


def normalize_identity(kind: str, value: str) -> str:
    """The canonical form of an identity value of a built-in kind, used to match
    a returning customer (other kinds: ``IdentityKinds`` of the desk)."""
    rules = BUILTIN_RULES.get(kind)
    return rules.normalize(value) if rules is not None else value.strip()


def identity_problem(kind: str, value: str) -> str | None:
    """An error sentence for an identity that cannot be right, else None."""
    return (BUILTIN_RULES.get(kind) or _Opaque(kind)).problem(value)


class Identity(NamedTuple):
    """One way to reach a customer: ``Identity("email", "ana@example.com")``.

    A named pair, so that files and the wire hold it as ``["email", "ana@…"]``.
    """

    kind: str
    value: str

    @classmethod
    def of(cls, kind: str, value: str) -> Identity:
        return cls(str(kind), normalize_identity(kind, value))

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Customer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """A person, known under one or more identities."""

    id: str
    name: str = ""
    identities: list[Identity] = []
    attributes: dict[str, str] = {}
    tags: list[str] = []
    created_at: float = 0.0
    # Set when this customer was merged into another; the record stays so old
    # references still resolve.
    merged_into: str | None = None

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.identities:
            return self.identities[0].value
        return "unknown customer"

    @property
    def first_name(self) -> str:
        return self.display_name.split(" ", 1)[0]

    def identity(self, kind: str) -> Identity | None:
        for identity in self.identities:
            if identity.kind == kind:
                return identity
        return None
