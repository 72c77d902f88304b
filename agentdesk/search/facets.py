"""Facet tokens: each filterable value of a task as one word of the ``facets`` column.

Filters then run inside FTS5 as a merge of posting lists, whatever their
combination. Free-text values (channel, assignee, team, tag) are folded and
hex-encoded so that every value is exactly one token for ``unicode61``; the
one-letter prefix says which field a token belongs to.
"""

from __future__ import annotations

import functools
import hashlib

from agentdesk.domain import Task
from agentdesk.query.fold import fold

ALL = "all"  # in every document: the left side of a query made only of exclusions
NOTHING = "nothing"  # in no document: a filter that can match no task
UNREAD = "unread"
WAITING = "waiting"

_LONG = 40  # bytes; longer values are hashed to keep tokens short


@functools.lru_cache(maxsize=4096)
def token(prefix: str, value: str) -> str:
    # Remembered: the same channels, agents and tags come back with every task.
    data = fold(value).encode()
    if len(data) > _LONG:
        return prefix + "z" + hashlib.sha1(data).hexdigest()
    return prefix + data.hex()


def status(value: str) -> str:
    return "s" + value


def priority(value: str) -> str:
    return "p" + value


def number(value: int) -> str:
    return f"n{value}"


def customer(rid: int) -> str:
    return f"u{rid}"


def channel(value: str) -> list[str]:
    """Tokens for a channel: an instance name or a kind."""
    return [token("c", value), token("k", value)]


def assignee(value: str) -> str:
    return "xassignee" if value in ("", "none") else token("a", value)


def team(value: str) -> str:
    return "xteam" if value in ("", "none") else token("t", value)


def tag(value: str) -> str:
    return token("g", value)


def of_task(task: Task, customer_rid: int) -> str:
    """The facets column of a task's document."""
    words = [
        ALL,
        status(str(task.status)),
        priority(str(task.priority)),
        number(task.number),
        customer(customer_rid),
        token("c", task.channel),
        token("k", task.channel_kind),
        assignee(task.assignee or ""),
        team(task.team or ""),
    ]
    words.extend(tag(t) for t in dict.fromkeys(fold(t) for t in task.tags if t))
    if task.unread:
        words.append(UNREAD)
    if task.waiting_since is not None:
        words.append(WAITING)
    return " ".join(words)
