"""Key bindings as the agent sees them: the defaults, remapped by configuration.

Every binding the console declares has an id (``reply``, ``inbox.down``...). The
configuration maps ids to keys (``reply = "R"``); ``check_keymap`` keeps the
entries that name a known binding and reports the rest. Help and the command
palette read the effective keys from ``key_list`` so they never drift from the
bindings themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """A titled set of bindings for the help screen."""

    title: str
    bindings: tuple[Binding, ...]


def bindings_of(declared: Iterable[BindingType]) -> tuple[Binding, ...]:
    """The Binding objects among a BINDINGS list (tuples are skipped: they have no id)."""
    return tuple(b for b in declared if isinstance(b, Binding))


def known_ids(groups: Iterable[KeyGroup]) -> set[str]:
    return {b.id for group in groups for b in group.bindings if b.id}


def check_keymap(
    keymap: Mapping[str, str] | None, known: set[str]
) -> tuple[dict[str, str], list[str]]:
    """Split a configured keymap into usable entries and problems worth telling."""
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in (keymap or {}).items():
        if binding_id not in known:
            problems.append(f"keymap: no binding called {binding_id!r}")
        elif not isinstance(keys, str) or not keys.strip(" ,"):
            problems.append(f'keymap: {binding_id} needs keys such as "ctrl+r"')
        else:
            usable[binding_id] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return usable, problems


def key_list(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    """The keys that trigger ``binding`` once the keymap is applied."""
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [k.strip() for k in keys.split(",") if k.strip()]
