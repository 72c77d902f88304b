"""The desk's reads: each request that only reads, answered from a ``PlanContext``
on the store's thread, so one answer is consistent in itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from agentdesk.api import Role, Snapshot, TimelineEntry
from agentdesk.api import requests as rq
from agentdesk.domain import Event, Status, Whisper
from agentdesk.domain.events import AnyEvent

from .context import PlanContext


def snapshot(ctx: PlanContext, request: rq.GetSnapshot) -> Snapshot:
    tasks = ctx.store.tasks([Status.OPEN, Status.PENDING])
    return Snapshot(seq=ctx.store.seq, tasks=tasks, channels=list(ctx.channels.values()))


def timeline(ctx: PlanContext, request: rq.GetTimeline) -> list[TimelineEntry]:
    tasks = sorted(ctx.store.tasks_of_customer(request.customer_id), key=lambda t: t.updated_at)
    # Every stored event is of one of the event classes (AnyEvent).
    return [TimelineEntry(t, cast("list[AnyEvent]", thread_of(ctx, t.id))) for t in reversed(tasks)]


def thread_of(ctx: PlanContext, task_id: str) -> list[Event]:
    """A task's events as the actor may see them: others' whispers left out."""
    agent, lead = ctx.actor.agent, ctx.actor.role.at_least(Role.LEAD)
    return [
        e
        for e in ctx.store.events_of_task(task_id)
        if not isinstance(e, Whisper) or e.seen_by(agent, lead)
    ]


READERS: dict[type[rq.Request], Callable[[PlanContext, Any], Any]] = {
    rq.GetSnapshot: snapshot,
    rq.GetTask: lambda ctx, r: ctx.store.get_task(r.task_id),
    rq.TaskByNumber: lambda ctx, r: ctx.store.task_by_number(r.number),
    rq.GetThread: lambda ctx, r: thread_of(ctx, r.task_id),
    rq.GetCustomer: lambda ctx, r: ctx.store.get_customer(r.customer_id),
    rq.GetTimeline: timeline,
    rq.ListChannels: lambda ctx, r: list(ctx.channels.values()),
}
