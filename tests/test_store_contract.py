"""The Store protocol's promises, checked on every engine.

Each test takes the ``store`` fixture, parametrised over the in-memory store
and the SQLite one, so both keep the same promises; the tests at the end are
about the SQLite file itself.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdesk.domain import (
    Activity,
    ActivityKind,
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
from agentdesk.domain.evolve import evolve
from agentdesk.search import parse_query
from agentdesk.store import (
    Batch,
    DuplicateKey,
    Store,
    StoreConflict,
    StoreDamaged,
    StoreError,
    StoreLocked,
    StoreVersionError,
)
from agentdesk.store.memory import MemoryStore
from agentdesk.store.sqlite_store import FILE_NAME, SqliteStore

ENGINES = ["memory", "sqlite"]


def open_engine(kind: str, path: Path) -> Store:
    return MemoryStore() if kind == "memory" else SqliteStore.open(path / "store")


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


def make_task(task_id: str = "T1", number: int = 0, **changes: object) -> Task:
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
    return evolve(task, **changes)


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
    return evolve(message, **changes)


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


def held(store: Store, task_id: str = "T1") -> Task:
    task = store.get_task(task_id)
    assert task is not None
    return task


def test_every_object_kind_round_trips(store: Store) -> None:
    events = every_event_kind()
    outbox = OutboxEntry(key="K1", event_id="E01", task_id="T1", channel="mail", attempts=2)
    task = make_task()
    seq = store.commit(
        Batch(
            customers=[ANA],
            tasks=[task],
            events=events,
            outbox_put=[outbox],
            state=[("mail", "cursor", {"uid": 42, "folders": ["INBOX"]})],
        )
    )
    assert seq == 1 == store.seq
    assert store.get_customer("C1") == ANA
    assert held(store) == task and (task.number, task.version) == (1001, 1)
    assert store.events_of_task("T1") == events
    assert [store.get_event(e.id) for e in events] == events
    assert [type(e) for e in store.events_of_task("T1")] == [type(e) for e in events]
    assert store.outbox() == [outbox]
    assert store.get_state("mail", "cursor") == {"uid": 42, "folders": ["INBOX"]}
    assert store.get_state("mail", "missing", 7) == 7
    assert list(store.state_items()) == [("mail", "cursor", {"uid": 42, "folders": ["INBOX"]})]


def test_store_keeps_its_own_copies(store: Store) -> None:
    task = make_task()
    store.commit(Batch(customers=[ANA], tasks=[task]))
    task.subject = "changed after commit"
    assert held(store).subject == "Broken invoice"
    read = held(store)
    read.subject = "changed after reading"
    assert held(store).subject == "Broken invoice"


def test_sequence_increases_and_empty_batch_is_a_no_op(store: Store) -> None:
    assert store.seq == 0
    assert store.commit(Batch(customers=[ANA])) == 1
    assert store.commit(Batch()) == 1
    assert store.commit(Batch(state=[("a", "b", 1)])) == 2


def test_task_numbers_are_given_in_order_and_kept(store: Store) -> None:
    first, second = make_task("T1"), make_task("T2")
    store.commit(Batch(customers=[ANA], tasks=[first, second]))
    assert (first.number, second.number) == (1001, 1002)
    third = make_task("T3")
    store.commit(Batch(tasks=[third, evolve(held(store, "T1"), subject="again")]))
    assert third.number == 1003 and held(store, "T1").number == 1001
    assert store.task_by_number(1002).id == "T2"
    with pytest.raises(StoreConflict, match="number"):
        store.commit(Batch(tasks=[make_task("T4", 1002)]))


def test_a_change_planned_on_an_old_version_is_refused(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    read_by_ana, read_by_bob = held(store), held(store)
    store.commit(Batch(tasks=[evolve(read_by_ana, assignee="ana")]))
    late = evolve(read_by_bob, assignee="bob")
    with pytest.raises(StoreConflict, match=r"#1001 changed since"):
        store.commit(Batch(tasks=[late]))
    assert held(store).assignee == "ana" and held(store).version == 2
    assert late.version == 1  # as planned: read again and retry
    with pytest.raises(StoreConflict):
        store.commit(Batch(tasks=[make_task("T9", version=3)]))


def test_a_duplicate_inbound_message_is_refused_by_the_engine(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0)]))
    again = inbound("E2", 2.0, external_id="<E1@example.com>")
    with pytest.raises(DuplicateKey):
        store.commit(Batch(events=[again]))
    # Ours may carry any id; another channel's is another message.
    reply = inbound("E3", 3.0, external_id="<E1@example.com>", direction=Direction.OUTBOUND)
    other = inbound("E4", 4.0, external_id="<E1@example.com>", channel="chat")
    store.commit(Batch(events=[reply, other]))
    assert store.stats().events == 3


def test_in_a_group_a_refused_batch_is_undone_alone(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0)]))
    with store.group() as group:
        assert group.apply(Batch(events=[inbound("E2", 2.0)])) == 2
        doomed = make_task("T2")
        with pytest.raises(DuplicateKey):
            group.apply(
                Batch(tasks=[doomed], events=[inbound("E3", 3.0, external_id="<E1@example.com>")])
            )
        assert doomed.number == 0 and doomed.version == 0
        assert store.get_task("T2") is None
        assert group.apply(Batch(state=[("x", "y", 1)])) == 3
        assert [e.id for e in store.events_of_task("T1")] == ["E1", "E2"]
    assert store.seq == 3
    assert store.get_state("x", "y") == 1


def test_a_group_that_raises_leaves_nothing(store: Store) -> None:
    store.commit(Batch(customers=[ANA]))
    with pytest.raises(RuntimeError), store.group() as group:
        group.apply(Batch(tasks=[make_task()], events=[inbound("E1", 1.0)]))
        group.apply(Batch(state=[("x", "y", 1)]))
        raise RuntimeError("the desk failed before the commit")
    assert store.seq == 1
    assert store.get_task("T1") is None and store.get_state("x", "y") is None
    assert store.search(parse_query("hello"), me=None, now=200.0).total == 0
    assert store.commit(Batch(tasks=[make_task()])) == 2


def test_identity_lookup_follows_replacement_and_merge(store: Store) -> None:
    store.commit(Batch(customers=[ANA]))
    assert store.customer_by_identity(Identity.of("email", "ana@example.com")).id == "C1"
    moved = evolve(ANA, identities=[Identity.of("phone", "+33 6 12")])
    store.commit(Batch(customers=[moved]))
    assert store.customer_by_identity(Identity.of("email", "ana@example.com")) is None
    assert store.customer_by_identity(Identity.of("phone", "+33612")).id == "C1"
    keeper = Customer(id="C2", identities=[Identity.of("phone", "+33612")])
    merged = evolve(moved, merged_into="C2")
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
    closing = evolve(held(store), status=Status.CLOSED, closed_at=300.0)
    store.commit(Batch(tasks=[closing]))
    assert store.tasks([Status.OPEN]) == []
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
    sent = evolve(reply, delivery=DeliveryState.SENT, external_id="<out@x>")
    store.commit(Batch(events=[sent]))
    timeline = store.events_of_task("T1")
    assert [e.id for e in timeline] == ["E1", "E2", "E3", "E4"]
    assert timeline[-1].delivery == DeliveryState.SENT
    assert store.message_by_external_id("mail", "<out@x>").id == "E4"
    assert store.stats().events == 4
    assert sorted(e.id for e in store.iter_events()) == ["E1", "E2", "E3", "E4"]


def test_activity_is_appended_and_read_by_time(store: Store) -> None:
    online = Activity(agent="ana", at=20.0, kind=ActivityKind.PRESENCE, value="online")
    focus = Activity(agent="ana", at=25.0, kind=ActivityKind.FOCUS, value="T1", channel="chat")
    early = Activity(agent="bo", at=10.0, kind=ActivityKind.PRESENCE, value="online")
    seq = store.commit(Batch(activity=[online, focus]))
    assert store.commit(Batch(activity=[early])) == seq + 1
    assert list(store.iter_activity()) == [early, online, focus]
    assert list(store.iter_activity(since=20.0)) == [online, focus]
    # An activity record is never replaced: the same one again is a second record.
    store.commit(Batch(activity=[online]))
    assert [a.at for a in store.iter_activity(since=20.0)] == [20.0, 20.0, 25.0]


def test_activity_of_a_failed_batch_is_not_kept(store: Store) -> None:
    record = Activity(agent="ana", at=20.0, kind=ActivityKind.PRESENCE, value="online")
    with pytest.raises(StoreError):
        store.commit(Batch(activity=[record], events=[inbound("E1", 1.0, task_id="T9")]))
    assert list(store.iter_activity()) == []


def test_an_event_needs_its_task(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task("T1"), make_task("T2")]))
    with pytest.raises(StoreError, match="which the store does not hold"):
        store.commit(Batch(events=[inbound("E1", 1.0, task_id="T-nowhere")]))
    store.commit(Batch(events=[inbound("E1", 1.0)]))
    with pytest.raises(StoreError, match="another task"):
        store.commit(Batch(events=[inbound("E1", 1.0, task_id="T2")]))
    assert store.seq == 2


def test_message_by_external_id(store: Store) -> None:
    call = CallRecord(
        id="E2", task_id="T1", customer_id="C1", at=2.0, direction=Direction.INBOUND,
        channel="tel", external_id="call-7",
    )  # fmt: skip
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0), call]))
    assert store.message_by_external_id("mail", "<E1@example.com>").id == "E1"
    assert store.message_by_external_id("tel", "call-7") == call
    assert store.message_by_external_id("chat", "<E1@example.com>") is None
    assert store.message_by_external_id("mail", "<nope>") is None


def test_outbox_put_replace_and_done(store: Store) -> None:
    first = OutboxEntry(key="K1", event_id="E1", task_id="T1", channel="mail")
    second = OutboxEntry(key="K2", event_id="E2", task_id="T1", channel="sms")
    store.commit(Batch(outbox_put=[first, second]))
    retried = evolve(first, attempts=1, last_error="timeout")
    store.commit(Batch(outbox_put=[retried]))
    assert store.outbox() == [retried, second]
    store.commit(Batch(outbox_done=["K1", "unknown"]))
    assert store.outbox() == [second]


def test_state_none_deletes(store: Store) -> None:
    store.commit(Batch(state=[("sms", "since", 5)]))
    store.commit(Batch(state=[("sms", "since", None)]))
    assert store.get_state("sms", "since") is None
    assert list(store.state_items()) == []


@pytest.mark.parametrize(
    "value", [object(), float("nan"), {"a": "\ud800"}], ids=["object", "nan", "surrogate"]
)
def test_value_that_would_not_read_back_is_refused(store: Store, value: object) -> None:
    with pytest.raises(StoreError, match="x/y"):
        store.commit(Batch(state=[("x", "y", value)]))
    assert store.seq == 0
    assert store.get_state("x", "y") is None


def test_an_object_that_cannot_be_saved_is_refused_whole(store: Store) -> None:
    bad = evolve(make_task(), updated_at=float("nan"))
    with pytest.raises(StoreError, match="cannot be saved"):
        store.commit(Batch(customers=[ANA], tasks=[bad]))
    assert store.seq == 0 and store.get_customer("C1") is None


def test_changes_since_gives_each_object_at_the_seq_that_last_wrote_it(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    store.commit(Batch(events=[inbound("E1", 1.0)]))
    store.commit(Batch(state=[("x", "y", 1)]))  # nothing the feed carries
    store.commit(Batch(tasks=[evolve(held(store), subject="Paid twice")]))
    changes = store.changes_since(0)
    assert [(c.seq, [x.id for x in c.customers], [t.id for t in c.tasks]) for c in changes] == [
        (1, ["C1"], []),
        (2, [], []),
        (4, [], ["T1"]),
    ]
    assert changes[1].events == [inbound("E1", 1.0)]
    assert changes[2].tasks[0].subject == "Paid twice"
    assert [c.seq for c in store.changes_since(1, limit=1)] == [2]
    assert store.changes_since(4) == []


def test_search_answers_on_every_engine(store: Store) -> None:
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0)]))
    store.commit(Batch(customers=[evolve(ANA, name="Anabela Lima")]))
    for text, found in [
        ("hello", ["T1"]),
        ("anabela", ["T1"]),
        ("from:+33612", ["T1"]),
        ("status:closed", []),
        ("-invoice", []),
    ]:
        page = store.search(parse_query(text), me="ana", now=200.0)
        assert [hit.task_id for hit in page.hits] == found, text
    assert store.search(parse_query("hello"), me=None, now=200.0).hits[0].number == 1001


def test_commit_after_close_is_refused(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.commit(Batch(state=[("a", "b", 1)]))


# --- the SQLite file ---------------------------------------------------------------


def test_what_was_committed_is_there_after_reopening(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=every_event_kind()))
    store.close()
    again = SqliteStore.open(tmp_path)
    try:
        assert again.seq == 1 and held(again).number == 1001
        assert again.events_of_task("T1") == every_event_kind()
        assert again.search(parse_query("billing"), me=None, now=200.0).total == 1
        assert again.integrity_check() == []
        assert again.commit(Batch(tasks=[make_task("T2")])) == 2
        assert held(again, "T2").number == 1002
    finally:
        again.close()


def test_a_second_writer_is_refused_and_readers_see_what_is_committed(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    try:
        with pytest.raises(StoreLocked, match=f"already open in process {os.getpid()}"):
            SqliteStore.open(tmp_path)
        reader = SqliteStore.open(tmp_path, read_only=True)
        store.commit(Batch(customers=[ANA], tasks=[make_task()]))
        assert reader.seq == 0 and held(reader).number == 1001  # reads are queries
        with pytest.raises(StoreError, match="read-only"):
            reader.commit(Batch(state=[("a", "b", 1)]))
        reader.close()
    finally:
        store.close()


def test_a_damaged_file_is_refused_by_name(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path).close()
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreDamaged, match=f"{tmp_path / FILE_NAME} is damaged"):
        SqliteStore.open(tmp_path)


def test_a_lost_write_ahead_log_is_refused_by_name(tmp_path: Path) -> None:
    """Killed while open, the store's latest changes are in the log: losing it
    would lose acknowledged writes, so the store refuses to open without it."""
    script = (
        "import os, sys\n"
        "from agentdesk.store.sqlite_store import SqliteStore\n"
        "from agentdesk.store import Batch\n"
        "store = SqliteStore.open(sys.argv[1])\n"
        "store.commit(Batch(state=[('a', 'b', 1)]))\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)
    wal = tmp_path / f"{FILE_NAME}-wal"
    assert wal.stat().st_size > 0
    wal.unlink()
    with pytest.raises(StoreDamaged, match=f"{wal} is missing"):
        SqliteStore.open(tmp_path)


def test_a_clean_close_needs_no_log(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    store.commit(Batch(state=[("a", "b", 1)]))
    store.close()
    assert not (tmp_path / f"{FILE_NAME}-wal").exists()
    again = SqliteStore.open(tmp_path)
    assert again.get_state("a", "b") == 1
    again.close()


def test_a_store_of_a_newer_version_or_the_old_format_is_refused(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path / "new").close()
    db = sqlite3.connect(tmp_path / "new" / FILE_NAME)
    db.execute("UPDATE meta SET value = 99 WHERE key = 'migration'")
    db.commit()
    db.close()
    with pytest.raises(StoreVersionError, match="newer agentdesk"):
        SqliteStore.open(tmp_path / "new")
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    with pytest.raises(StoreDamaged, match="agentdesk export"):
        SqliteStore.open(old)


def test_reindex_rebuilds_what_search_finds(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path)
    try:
        store.commit(Batch(customers=[ANA], tasks=[make_task()], events=every_event_kind()))
        before = store.search(parse_query("billing OR hello"), me=None, now=200.0)
        seen: list[tuple[int, int]] = []
        assert store.reindex(progress=lambda done, total: seen.append((done, total))) == 1
        after = store.search(parse_query("billing OR hello"), me=None, now=200.0)
        assert after == before and seen[-1] == (1, 1)
        assert store.integrity_check() == []
    finally:
        store.close()
