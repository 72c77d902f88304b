"""``evolve``: a changed copy of a domain object, every other field kept."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from agentdesk.domain import (
    EVENT_TYPES,
    Attachment,
    Customer,
    Identity,
    Message,
    OutboxEntry,
    Status,
    Task,
)
from agentdesk.domain.evolve import evolve


def _task() -> Task:
    return Task(id="t1", number=1001, customer_id="c1", subject="Colis", tags=["vip"])


def test_evolve_changes_what_it_is_told_and_nothing_else() -> None:
    task = _task()
    evolved = evolve(task, status=Status.CLOSED, closed_at=5.0, unread=True)
    assert evolved is not task
    assert (evolved.status, evolved.closed_at, evolved.unread) == (Status.CLOSED, 5.0, True)
    assert task.status == Status.OPEN and task.closed_at is None
    changed = {"status", "closed_at", "unread"}
    before, after = msgspec.structs.asdict(task), msgspec.structs.asdict(evolved)
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }


def test_evolve_copies_every_field_of_every_event_kind() -> None:
    for kind, cls in EVENT_TYPES.items():
        required = [f.name for f in msgspec.structs.fields(cls) if f.required]
        event = cls(**{name: f"{name}-value" for name in required})
        if cls is Message:
            event.attachments = [Attachment("a.pdf", "application/pdf", 10, None)]
        assert evolve(event) == event, kind
        moved = evolve(event, at=2.0)
        assert moved.at == 2.0 and evolve(moved, at=event.at) == event, kind


def test_evolve_other_classes() -> None:
    customer = Customer(id="c1", name="Ana", identities=[Identity("email", "a@example.fr")])
    grown = evolve(customer, identities=[*customer.identities, Identity("sms", "+33600000000")])
    assert grown.name == "Ana" and len(grown.identities) == 2
    assert len(customer.identities) == 1
    entry = OutboxEntry(key="k", event_id="e1", task_id="t1", channel="sim-email")
    assert evolve(entry, attempts=2) == OutboxEntry(
        key="k", event_id="e1", task_id="t1", channel="sim-email", attempts=2
    )


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="has no field 'colour'"):
        evolve(_task(), colour="blue")


def test_evolve_on_a_frozen_dataclass_goes_through_init() -> None:
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0

    assert evolve(Point(1, 2), y=5) == Point(1, 5)
    with pytest.raises(TypeError):
        evolve(Point(1), z=3)
