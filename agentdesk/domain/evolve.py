"""``evolve``: a copy of a domain object with some fields changed."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def evolve(obj: T, /, **changes: Any) -> T:
    """A new ``obj`` with ``changes`` applied; an unknown field raises ``TypeError``.

    Domain objects are msgspec Structs, copied field by field in C (ingest
    makes a changed copy of a task for every inbound message); dataclasses
    go through ``dataclasses.replace``.
    """
    if isinstance(obj, msgspec.Struct):
        return msgspec.structs.replace(obj, **changes)
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
