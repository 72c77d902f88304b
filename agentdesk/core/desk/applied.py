"""Commands applied once: the ids a console chose, kept with what they made.

A console sends each command with an id of its choosing and sends it again
after a reconnect when it never saw the answer. The id is written in the
same transaction as the command's changes, so a hub killed at any moment
either applied the command and knows it, or did neither. A command whose id
is known is answered from what it made, read as it is now, and not applied
again. Ids are forgotten after ``KEEP_SECONDS``, far past any console's
offline queue.
"""

from __future__ import annotations

from typing import Any

from agentdesk.api.agents import AgentInfo, AgentToken
from agentdesk.api.errors import conflict
from agentdesk.domain import Customer, Task
from agentdesk.domain.events import EVENT_CLASSES
from agentdesk.store import Batch

from .agents import AGENTS_NAMESPACE, info_of
from .context import PlanContext

COMMANDS_NAMESPACE = "agentdesk/commands"
KEEP_SECONDS = 7 * 86400
MAX_ID_LENGTH = 100


def record(command_id: str, agent: str, op: str, at: float, result: Any) -> tuple[str, str, Any]:
    """The state entry that marks ``command_id`` applied, naming what it made."""
    entry = {"agent": agent, "op": op, "at": at, "ref": _ref(result)}
    return (COMMANDS_NAMESPACE, command_id, entry)


def _ref(result: Any) -> list[str] | None:
    if isinstance(result, Task):
        return ["task", result.id]
    if isinstance(result, EVENT_CLASSES):
        return ["event", result.id]
    if isinstance(result, Customer):
        return ["customer", result.id]
    if isinstance(result, AgentToken):
        return ["token", result.agent.name]
    if isinstance(result, AgentInfo):
        return ["agent", result.name]
    return None


def answer_again(ctx: PlanContext, entry: dict[str, Any], agent: str, op: str) -> Any:
    """The answer to a command applied before: what it made, as it is now.

    Only to the agent who sent it, for the same kind of command: an id another
    console chose, or reused for something else, is refused rather than
    answered with what someone else's command made."""
    if entry.get("agent") != agent or entry.get("op", op) != op:
        raise conflict("this command id was used already for another command; choose a new one")
    ref = entry.get("ref")
    if ref is None:
        return None
    kind, key = ref
    if kind == "task":
        return ctx.store.get_task(key)
    if kind == "event":
        return ctx.store.get_event(key)
    if kind == "customer":
        return ctx.store.get_customer(key)
    if kind == "agent":
        record = ctx.store.get_state(AGENTS_NAMESPACE, key)
        return None if record is None else info_of(record)
    # A token is shown once: a second look would need it stored.
    raise conflict(f"this command was applied already; rotate {key}'s token to see a new one")


def forget_batch(items: list[tuple[str, Any]], now: float) -> Batch:
    """Deletes of the ids older than ``KEEP_SECONDS`` among ``items`` (key, entry)."""
    old = [key for key, entry in items if now - float(entry.get("at", 0)) > KEEP_SECONDS]
    return Batch(state=[(COMMANDS_NAMESPACE, key, None) for key in old])
