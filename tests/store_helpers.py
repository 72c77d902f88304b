"""Helpers for tests that commit the same planned history to several stores."""

from __future__ import annotations

from agentdesk.domain.evolve import evolve
from agentdesk.store import Batch, Store


def ready(store: Store, batch: Batch) -> Batch:
    """A copy of ``batch`` for ``store``: each task at the version the store holds
    (the store writes versions and numbers into what it commits)."""
    tasks = []
    for item in batch.tasks:
        held = store.get_task(item.id)
        tasks.append(evolve(item, version=held.version if held else 0))
    return Batch(customers=list(batch.customers), tasks=tasks, events=list(batch.events))
