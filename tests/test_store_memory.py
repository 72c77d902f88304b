"""The Store protocol's behaviour, checked on every engine.

Each test takes the ``store`` fixture, which is parametrised over the
in-memory store and the persistent one, so both keep the same promises.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdesk.domain import (
    Assignment,
    Attachment,
    CallRecord,
    Customer,
    DeliveryState,
    Direction,
    Handoff,
    Identity,
    Message,
    Note,
    OutboxEntry,
    Priority,
    Status,
    StatusChange,
    SurveyAnswer,
    Task,
    TaskUpdate,
    Transfer,
)
from agentdesk.store import Batch, MemoryStore, Store, StoreError


def open_engine(kind: str, path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    from agentdesk.store.tiny import TinyStore

    return TinyStore.open(path / "store")


ENGINES = ["memory", "tiny"]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_engine(request.param, tmp_path)
    yield opened
    opened.close()


ANA = Customer(
    id="C1",
    name="Ana Lima",
    identities=[Identity.of("email", "Ana@Example.com"), Identity.of("phone", "+33 6 12")],
    attributes={"plan": "pro"},
    tags=["vip"],
    created_at=100.0,
)


def make_task(task_id: str = "T1", number: int = 1, **changes: object) -> Task:
    task = Task(
        id=task_id,
        number=number,
        customer_id="C1",
        customer_name="Ana Lima",
        channel="mail",
        channel_kind="email",
        subject="Broken invoice",
        priority=Priority.HIGH,
        skills=["billing"],
        tags=["invoice"],
        created_at=100.0 + number,
        updated_at=100.0 + number,
        waiting_since=101.0,
    )
    return dataclasses.replace(task, **changes)


def inbound(event_id: str, at: float, task_id: str = "T1", **changes: object) -> Message:
    message = Message(
        id=event_id,
        task_id=task_id,
        customer_id="C1",
        at=at,
        actor="customer",
        direction=Direction.INBOUND,
        channel="mail",
        channel_kind="email",
        text=f"hello {event_id}",
        subject="Broken invoice",
        external_id=f"<{event_id}@example.com>",
        identity="email:ana@example.com",
        attachments=[Attachment("a.pdf", "application/pdf", 12, "files/a.pdf")],
    )
    return dataclasses.replace(message, **changes)


def every_event_kind() -> list:
    common = {"task_id": "T1", "customer_id": "C1", "actor": "bob"}
    return [
        inbound("E01", 101.0),
        Note(id="E02", at=102.0, text="checking with billing", **common),
        StatusChange(id="E03", at=103.0, old="open", new="pending", pending_until=500.0, **common),
        Assignment(id="E04", at=104.0, old_assignee=None, new_assignee="bob", **common),
        Transfer(id="E05", at=105.0, new_team="billing", note="yours", **common),
        Handoff(id="E06", at=106.0, from_channel="chat", to_channel="mail", **common),
        TaskUpdate(id="E07", at=107.0, field="tags", old=["a"], new=["a", "b"], **common),
        CallRecord(id="E08", at=108.0, direction=Direction.OUTBOUND, channel="tel", **common),
        SurveyAnswer(id="E09", at=109.0, metric="ces", score=3, comment="ok", **common),
    ]


def test_every_object_kind_round_trips(store: Store) -> None:
    events = every_event_kind()
    outbox = OutboxEntry(key="K1", event_id="E01", task_id="T1", channel="mail", attempts=2)
    seq = store.commit(
        Batch(
            customers=[ANA],
            tasks=[make_task()],
            events=events,
            outbox_put=[outbox],
            state=[("mail", "cursor", {"uid": 42, "folders": ["INBOX"]})],
            meta={"next_task_number": 2},
        )
    )
    assert seq == 1 == store.seq
    assert store.get_customer("C1") == ANA
    assert store.get_task("T1") == make_task()
    assert store.events_of_task("T1") == events
    assert [store.get_event(e.id) for e in events] == events
    assert store.outbox() == [outbox]
    assert store.get_state("mail", "cursor") == {"uid": 42, "folders": ["INBOX"]}
    assert store.get_meta("next_task_number") == 2
    assert store.get_meta("missing", "dflt") == "dflt"
    assert store.get_state("mail", "missing", 7) == 7


def test_store_keeps_its_own_copies(store: Store) -> None:
    task = make_task()
    store.commit(Batch(customers=[ANA], tasks=[task]))
    task.subject = "changed after commit"
    assert store.get_task("T1").subject == "Broken invoice"


def test_sequence_increases_and_empty_batch_is_a_no_op(store: Store) -> None:
    assert store.seq == 0
    assert store.commit(Batch(customers=[ANA])) == 1
    assert store.commit(Batch()) == 1
    assert store.commit(Batch(meta={"a": 1})) == 2


def test_identity_lookup_follows_replacement_and_merge(store: Store) -> None:
    store.commit(Batch(customers=[ANA]))
    assert store.customer_by_identity(Identity.of("email", "ana@example.com")).id == "C1"
    moved = dataclasses.replace(ANA, identities=[Identity.of("phone", "+33 6 12")])
    store.commit(Batch(customers=[moved]))
    assert store.customer_by_identity(Identity.of("email", "ana@example.com")) is None
    assert store.customer_by_identity(Identity.of("phone", "+33612")).id == "C1"
    keeper = Customer(id="C2", identities=[Identity.of("phone", "+33612")])
    merged = dataclasses.replace(moved, merged_into="C2")
    store.commit(Batch(customers=[keeper, merged]))
    assert store.customer_by_identity(Identity.of("phone", "+33612")).id == "C2"
    assert store.get_customer("C1").merged_into == "C2"
    assert {c.id for c in store.customers()} == {"C1", "C2"}


def test_tasks_by_status_number_and_customer(store: Store) -> None:
    store.commit(
        Batch(
            customers=[ANA],
            tasks=[
                make_task("T1", 1),
                make_task("T2", 2, status=Status.PENDING),
                make_task("T3", 3, status=Status.CLOSED, closed_at=200.0),
            ],
        )
    )
    assert [t.id for t in store.tasks([Status.OPEN])] == ["T1"]
    assert {t.id for t in store.tasks([Status.OPEN, Status.PENDING])} == {"T1", "T2"}
    assert {t.id for t in store.tasks()} == {"T1", "T2", "T3"}
    assert store.task_by_number(3).id == "T3"
    assert store.task_by_number(9) is None
    store.commit(Batch(tasks=[make_task("T1", 1, status=Status.CLOSED, closed_at=300.0)]))
    assert list(store.tasks([Status.OPEN])) == []
    assert {t.id for t in store.tasks([Status.CLOSED])} == {"T1", "T3"}
    assert [t.id for t in store.tasks_of_customer("C1")] == ["T1", "T2", "T3"]
    assert store.tasks_of_customer("nobody") == []
    stats = store.stats()
    assert stats.customers == 1
    assert stats.tasks_by_status == {"open": 0, "pending": 1, "closed": 2}
    assert stats.tasks_by_channel == {"mail": 3}
    assert stats.events == 0


def test_events_in_time_order_and_replaced_by_id(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    store.commit(Batch(events=[inbound("E2", 20.0), inbound("E3", 30.0)]))
    store.commit(Batch(events=[inbound("E1", 10.0)]))  # arrived late, happened first
    assert [e.id for e in store.events_of_task("T1")] == ["E1", "E2", "E3"]
    reply = inbound(
        "E4", 40.0, direction=Direction.OUTBOUND, delivery=DeliveryState.QUEUED, external_id=None
    )
    store.commit(Batch(events=[reply]))
    sent = dataclasses.replace(reply, delivery=DeliveryState.SENT, external_id="<out@x>")
    store.commit(Batch(events=[sent]))
    timeline = store.events_of_task("T1")
    assert [e.id for e in timeline] == ["E1", "E2", "E3", "E4"]
    assert timeline[-1].delivery == DeliveryState.SENT
    assert store.message_by_external_id("mail", "<out@x>").id == "E4"
    assert store.stats().events == 4
    assert sorted(e.id for e in store.iter_events()) == ["E1", "E2", "E3", "E4"]


def test_message_by_external_id(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0)]))
    assert store.message_by_external_id("mail", "<E1@example.com>").id == "E1"
    assert store.message_by_external_id("chat", "<E1@example.com>") is None
    assert store.message_by_external_id("mail", "<nope>") is None


def test_outbox_put_replace_and_done(store: Store) -> None:
    first = OutboxEntry(key="K1", event_id="E1", task_id="T1", channel="mail")
    second = OutboxEntry(key="K2", event_id="E2", task_id="T1", channel="sms")
    store.commit(Batch(outbox_put=[first, second]))
    retried = dataclasses.replace(first, attempts=1, last_error="timeout")
    store.commit(Batch(outbox_put=[retried]))
    assert store.outbox() == [retried, second]
    store.commit(Batch(outbox_done=["K1", "unknown"]))
    assert store.outbox() == [second]


def test_state_and_meta_none_deletes(store: Store) -> None:
    store.commit(Batch(state=[("sms", "since", 5)], meta={"k": "v"}))
    store.commit(Batch(state=[("sms", "since", None)], meta={"k": None}))
    assert store.get_state("sms", "since") is None
    assert store.get_meta("k") is None


def test_value_that_is_not_plain_data_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="not plain data"):
        store.commit(Batch(state=[("x", "y", object())]))
    assert store.seq == 0
    assert store.get_state("x", "y") is None


def test_batches_since(store: Store) -> None:
    store.commit(Batch(customers=[ANA]))
    store.commit(Batch(meta={"a": 1}))
    got = list(store.batches_since(0))
    assert [s for s, _ in got] == [1, 2]
    assert got[0][1].customers == [ANA]
    assert got[1][1].meta == {"a": 1}
    assert list(store.batches_since(2)) == []


def test_memory_batches_since_reports_what_it_no_longer_has() -> None:
    store = MemoryStore(keep_batches=2)
    for n in range(4):
        store.commit(Batch(meta={"n": n}))
    assert store.batches_since(0) is None
    assert [s for s, _ in store.batches_since(2)] == [3, 4]


def test_commit_after_close_is_refused(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.commit(Batch(meta={"a": 1}))


def test_concurrent_commits_get_distinct_sequences(store: Store) -> None:
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(25):
            seq = store.commit(Batch(state=[("w", f"{n}-{i}", i)]))
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 101))
    assert store.seq == 100
    assert store.get_state("w", "3-24") == 24
