"""Decoding many task documents at once, fast.

Opening a store decodes every hot task, so this is on the path the inbox waits
for. The documents are parsed in one ``json`` call. One the store wrote itself
(known fields only, the required ones present, a valid status and priority)
is built by a function that assigns each field, with its default when the
document leaves it out, as the dataclass' own ``__init__`` does but without
its keyword-argument handling, which costs more than the assignments. Any
other document goes through ``codec.task_from_dict``, which checks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from typing import Any

from agentdesk.domain import Priority, Status, Task, codec

_FIELDS = frozenset(f.name for f in fields(Task))
_REQUIRED = frozenset(
    f.name for f in fields(Task) if f.default is MISSING and f.default_factory is MISSING
)
_STATUS = {s.value: s for s in Status}
_PRIORITY = {p.value: p for p in Priority}


def _make_builder() -> Callable[[dict[str, Any]], Task]:
    # Task has no __post_init__, so assigning every field is all __init__ does.
    namespace: dict[str, Any] = {"new": object.__new__, "Task": Task}
    lines = ["def build(doc):", "    task = new(Task)"]
    for item in fields(Task):
        name = item.name
        if item.default is not MISSING:
            namespace[f"default_{name}"] = item.default
            lines.append(f"    task.{name} = doc.get({name!r}, default_{name})")
        elif item.default_factory is not MISSING:
            namespace[f"factory_{name}"] = item.default_factory
            lines.append(
                f"    task.{name} = doc[{name!r}] if {name!r} in doc else factory_{name}()"
            )
        else:
            lines.append(f"    task.{name} = doc[{name!r}]")
    lines.append("    return task")
    exec("\n".join(lines), namespace)
    return namespace["build"]


_build = _make_builder()


def tasks_from_texts(texts: Sequence[str]) -> list[Task]:
    """The tasks of ``texts`` (compact JSON documents), in order."""
    if not texts:
        return []
    docs = json.loads("[" + ",".join(texts) + "]")
    tasks = []
    status_default, priority_default = Status.OPEN.value, Priority.NORMAL.value
    for doc in docs:
        keys = doc.keys()
        status = _STATUS.get(doc.get("status", status_default))
        priority = _PRIORITY.get(doc.get("priority", priority_default))
        if status is None or priority is None or not (_REQUIRED <= keys <= _FIELDS):
            tasks.append(codec.task_from_dict(doc))
            continue
        task = _build(doc)
        task.status = status
        task.priority = priority
        tasks.append(task)
    return tasks
