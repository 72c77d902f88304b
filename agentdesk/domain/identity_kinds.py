"""The rules of every identity kind a desk knows: the built-in four and those
channels declare.

Reading an address of a kind ("Ana@Example.com" is the email
``ana@example.com``) goes through ``IdentityKinds``, which a desk builds from
the built-in rules and the declarations of its channels' plugins. A kind
nobody declared is compared as typed, trimmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from .customer import BUILTIN_RULES, Identity


class IdentityRules(Protocol):
    """What a kind must say: its name, its compared form, and what is wrong."""

    @property
    def name(self) -> str: ...
    def normalize(self, value: str) -> str: ...
    def problem(self, value: str) -> str | None: ...


class IdentityKinds:
    """The identity kinds of one desk (immutable: ``with_kinds`` makes another)."""

    def __init__(self, declared: Iterable[IdentityRules] = ()) -> None:
        self._rules: Mapping[str, IdentityRules] = {
            **BUILTIN_RULES,
            **{rules.name: rules for rules in declared if rules.name not in BUILTIN_RULES},
        }

    def with_kinds(self, declared: Iterable[IdentityRules]) -> IdentityKinds:
        """These kinds and ``declared``; a kind known already keeps its rules."""
        new = [r for r in declared if r.name not in self._rules]
        return IdentityKinds([*self._rules.values(), *new]) if new else self

    def __contains__(self, kind: object) -> bool:
        return kind in self._rules

    def names(self) -> list[str]:
        return list(self._rules)

    def normalize(self, kind: str, value: str) -> str:
        rules = self._rules.get(kind)
        return rules.normalize(value) if rules is not None else value.strip()

    def problem(self, kind: str, value: str) -> str | None:
        rules = self._rules.get(kind)
        if rules is not None:
            return rules.problem(value)
        value = value.strip()
        if not value:
            return "Type the address to use."
        return None if len(value) <= 200 else "That identity is too long."

    def identity(self, kind: str, value: str) -> Identity:
        """The identity ``value`` of ``kind`` names, in its compared form."""
        return Identity(str(kind), self.normalize(kind, value))
