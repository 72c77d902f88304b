"""``evolve``: a copy of a domain object with some fields changed.

The same result as ``dataclasses.replace`` for any dataclass, several times
faster for those whose ``__init__`` only stores its arguments (the domain's):
ingest makes a changed copy of a task for every inbound message, and
``replace`` goes through ``__init__`` with every field as a keyword.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def evolve(obj: T, /, **changes: Any) -> T:
    """A new ``obj`` with ``changes`` applied; an unknown field raises ``TypeError``."""
    return _copier(type(obj))(obj, changes)


@cache
def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    if hasattr(cls, "__post_init__") or params.frozen or not all(f.init for f in fields(cls)):
        # ``__init__`` does more than store: let it.
        return lambda obj, changes: replace(obj, **changes)
    names = [f.name for f in fields(cls)]
    # Straight-line code: one attribute copy per field, no loop over names.
    body = "\n".join(f"    new.{name} = obj.{name}" for name in names)
    source = (
        "def copy(obj, changes):\n"
        "    new = make(cls)\n"
        f"{body}\n"
        "    for name, value in changes.items():\n"
        "        if name not in known:\n"
        "            raise TypeError(f'{cls.__name__} has no field {name!r}')\n"
        "        setattr(new, name, value)\n"
        "    return new\n"
    )
    scope: dict[str, Any] = {"make": object.__new__, "cls": cls, "known": frozenset(names)}
    exec(source, scope)
    return scope["copy"]
