"""The persistent store: files, reopening, damage, refusals and lazy history.

The protocol's behaviour itself is checked on every engine in
``test_store_memory.py``; this file is about what happens on disk.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store_memory import ANA, every_event_kind, inbound, make_task
from tinydb import TinyDB

from agentdesk.domain import Customer, Identity, OutboxEntry, Status, Task, codec
from agentdesk.store import (
    Batch,
    StoreError,
    StoreLocked,
    StoreReadOnly,
    StoreVersionError,
)
from agentdesk.store.journal import JournalCorrupt, OsJournalFile
from agentdesk.store.tiny import TinyStore

NOW = 1_790_000_000.0  # 2026-09
DAY = 86_400.0
JAN_2025 = 1_736_000_000.0
FEB_2025 = 1_739_000_000.0


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store"


def open_store(path: Path, **options) -> TinyStore:
    options.setdefault("clock", lambda: NOW)
    return TinyStore.open(path, **options)


def run_child(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run Python code in a child process (which never calls close unless told)."""
    tests = str(Path(__file__).parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def full_batch() -> Batch:
    return Batch(
        customers=[ANA],
        tasks=[make_task()],
        events=every_event_kind(),
        outbox_put=[OutboxEntry(key="K1", event_id="E01", task_id="T1", channel="mail")],
        state=[("mail", "cursor", {"uid": 42})],
        meta={"next_task_number": 2},
    )


def assert_full_batch(store: TinyStore) -> None:
    assert store.get_customer("C1") == ANA
    assert store.customer_by_identity(Identity.of("email", "ana@example.com")) == ANA
    assert store.get_task("T1") == make_task()
    assert store.events_of_task("T1") == every_event_kind()
    assert store.get_event("E05") == every_event_kind()[4]
    assert store.message_by_external_id("mail", "<E01@example.com>").id == "E01"
    assert [e.key for e in store.outbox()] == ["K1"]
    assert store.get_state("mail", "cursor") == {"uid": 42}
    assert store.get_meta("next_task_number") == 2


def closed_task(task_id: str, number: int, closed_at: float, **changes) -> object:
    return make_task(
        task_id, number, status=Status.CLOSED, closed_at=closed_at, updated_at=closed_at, **changes
    )


def history_batch() -> Batch:
    """Two tasks closed in January 2025, one in February, one open."""
    return Batch(
        customers=[ANA],
        tasks=[
            closed_task("T1", 1, JAN_2025),
            closed_task("T2", 2, JAN_2025 + DAY),
            closed_task("T3", 3, FEB_2025),
            make_task("T4", 4),
        ],
        events=[
            inbound("E1", JAN_2025 - 10, "T1"),
            inbound("E2", JAN_2025 - 5, "T2"),
            inbound("E3", FEB_2025 - 5, "T3"),
            inbound("E4", NOW - 5, "T4"),
        ],
    )


# --- round trips and reopening ---------------------------------------------------------


def test_everything_survives_close_and_reopen(path: Path) -> None:
    store = open_store(path)
    assert store.commit(full_batch()) == 1
    store.close()
    store.close()
    reopened = open_store(path)
    assert reopened.seq == 1
    assert reopened.warnings == []
    assert_full_batch(reopened)
    reopened.close()


def test_reopen_after_a_crash_replays_the_journal(path: Path) -> None:
    child = run_child(
        """
        import os, sys
        from pathlib import Path
        from test_store_tiny import full_batch
        from agentdesk.store.tiny import TinyStore
        store = TinyStore.open(Path(sys.argv[1]))
        store.commit(full_batch())
        os._exit(0)  # no close: no checkpoint, the lock goes with the process
        """,
        str(path),
    )
    assert child.returncode == 0, child.stderr
    assert not (path / "hot" / "tasks.json").exists()
    store = open_store(path)
    assert store.seq == 1
    assert_full_batch(store)
    store.close()


def test_new_store_layout(path: Path) -> None:
    store = open_store(path)
    store.commit(history_batch())
    store.close()
    names = {str(p.relative_to(path)) for p in path.rglob("*")}
    assert {"LOCK", "manifest.json", "hot", "hot/tasks.json", "hot/customers.json"} <= names
    assert {"history/2025-01.json", "history/2025-02.json"} <= names
    assert any(n.startswith("journal-") and n.endswith(".jsonl") for n in names)
    assert not [n for n in names if n.endswith(".tmp")]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["seq"] == 1


def test_stock_tinydb_reads_the_files(path: Path) -> None:
    store = open_store(path)
    store.commit(history_batch())
    store.close()
    hot = TinyDB(path / "hot" / "tasks.json", access_mode="r")
    assert [codec.task_from_dict(doc) for doc in hot.table("tasks").all()] == [make_task("T4", 4)]
    hot.close()
    shard = TinyDB(path / "history" / "2025-01.json", access_mode="r")
    assert {doc["id"] for doc in shard.table("tasks").all()} == {"T1", "T2"}
    assert {doc["id"] for doc in shard.table("events").all()} == {"E1", "E2"}
    assert shard.table("catalog").all()[0]["ids"] == ["T1", "T2"]
    shard.close()


def test_files_rewritten_by_stock_tinydb_still_open(path: Path) -> None:
    store = open_store(path)
    store.commit(history_batch())
    store.close()
    for name in ("hot/tasks.json", "history/2025-01.json"):
        db = TinyDB(path / name)
        db.table("tasks").update({"subject": "edited"}, doc_ids=[1])  # rewrites in TinyDB's layout
        db.close()
    store = open_store(path)
    assert store.get_task("T4").subject == "edited"
    assert {t.subject for t in store.tasks([Status.CLOSED])} == {"edited", "Broken invoice"}
    store.close()


def test_checkpoints_during_commits_rotate_the_journal(path: Path) -> None:
    store = open_store(path, checkpoint_every=5, checkpoint_growth=0)
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    for n in range(22):
        store.commit(Batch(events=[inbound(f"E{n:02d}", 100.0 + n)]))
    segments = sorted(p.name for p in path.glob("journal-*.jsonl"))
    assert len(segments) == 2  # the current one and the one before it
    assert json.loads((path / "manifest.json").read_text())["seq"] == 20
    store.close()
    store = open_store(path)
    assert [e.id for e in store.events_of_task("T1")] == [f"E{n:02d}" for n in range(22)]
    store.close()


def test_checkpoints_wait_for_the_journal_to_outgrow_the_hot_files(path: Path) -> None:
    """A checkpoint rewrites the hot files: it waits until the journal has grown
    to twice their size, so its cost stays in proportion to what it folds in."""
    store = open_store(path, checkpoint_every=5)
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    store.commit(Batch(events=[inbound("E-big", 99.0, text="x" * 50_000)]))
    for n in range(3):
        store.commit(Batch(events=[inbound(f"E{n:02d}", 100.0 + n)]))
    manifest = path / "manifest.json"
    assert json.loads(manifest.read_text())["seq"] == 5  # the first: no hot files yet
    hot_bytes = sum(p.stat().st_size for p in (path / "hot").glob("*.json"))
    assert hot_bytes > 50_000
    n = 3
    while json.loads(manifest.read_text())["seq"] == 5:
        store.commit(Batch(events=[inbound(f"E{n:02d}", 100.0 + n, text="y" * 2_000)]))
        n += 1
    # Well past five records: until the journal held twice the hot files'
    # bytes (each record is a little over 2,000 bytes).
    assert 2 * hot_bytes // 2_600 <= n - 3 <= 2 * hot_bytes // 2_000 + 1
    store.close()


def test_a_journal_at_its_byte_cap_checkpoints_whatever_the_hot_files(path: Path) -> None:
    store = open_store(path, checkpoint_every=1_000_000, checkpoint_bytes=20_000)
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    for n in range(20):
        store.commit(Batch(events=[inbound(f"E{n:02d}", 100.0 + n, text="z" * 2_000)]))
    assert json.loads((path / "manifest.json").read_text())["seq"] > 0
    store.close()


def test_batches_since_reaches_back_one_checkpoint(path: Path) -> None:
    store = open_store(path, checkpoint_every=4, checkpoint_growth=0)
    for n in range(10):
        store.commit(Batch(meta={"n": n}))
    # Checkpoints at 4 and 8: the journal still holds 5..10.
    assert store.batches_since(2) is None
    assert [s for s, _ in store.batches_since(4)] == [5, 6, 7, 8, 9, 10]
    assert [b.meta for _, b in store.batches_since(9)] == [{"n": 9}]
    assert list(store.batches_since(10)) == []
    store.close()


# --- history shards --------------------------------------------------------------------


def test_history_is_loaded_lazily_shard_by_shard(path: Path) -> None:
    store = open_store(path)
    store.commit(history_batch())
    store.close()
    store = open_store(path)
    assert store.loaded_shards == []
    assert [t.id for t in store.tasks([Status.OPEN])] == ["T4"]
    assert store.loaded_shards == []
    assert store.task_by_number(3).id == "T3"
    assert store.loaded_shards == ["2025-02"]
    assert [e.id for e in store.events_of_task("T1")] == ["E1"]
    assert store.loaded_shards == ["2025-01", "2025-02"]
    stats = store.stats()
    assert stats.tasks_by_status == {"open": 1, "pending": 0, "closed": 3}
    assert stats.events == 4
    assert [t.id for t in store.tasks_of_customer("C1")] == ["T1", "T2", "T3", "T4"]
    assert sorted(e.id for e in store.iter_events()) == ["E1", "E2", "E3", "E4"]
    store.close()


def test_loaded_shards_are_bounded(path: Path) -> None:
    store = open_store(path)
    tasks = [closed_task(f"T{m}", m, JAN_2025 + m * 31 * DAY) for m in range(1, 9)]
    store.commit(Batch(customers=[ANA], tasks=tasks))
    store.close()
    store = open_store(path, max_loaded_shards=3)
    assert len(list(store.tasks([Status.CLOSED]))) == 8
    assert len(store.loaded_shards) == 3
    store.close()


def test_recently_closed_tasks_stay_hot(path: Path) -> None:
    store = open_store(path, recent_days=30)
    store.commit(
        Batch(
            customers=[ANA],
            tasks=[closed_task("T1", 1, NOW - 2 * DAY), closed_task("T2", 2, NOW - 40 * DAY)],
        )
    )
    store.close()
    hot = TinyDB(path / "hot" / "tasks.json", access_mode="r")
    assert [doc["id"] for doc in hot.table("tasks").all()] == ["T1"]
    hot.close()


def test_closed_task_with_undelivered_reply_stays_hot(path: Path) -> None:
    store = open_store(path)
    store.commit(
        Batch(
            customers=[ANA],
            tasks=[closed_task("T1", 1, JAN_2025)],
            outbox_put=[OutboxEntry(key="K", event_id="E1", task_id="T1", channel="mail")],
        )
    )
    store.close()
    assert not (path / "history" / "2025-01.json").exists()


def test_a_change_to_a_closed_task_brings_it_back_from_history(path: Path) -> None:
    store = open_store(path)
    store.commit(history_batch())
    store.close()
    store = open_store(path)
    reopened = make_task("T1", 1, updated_at=NOW)
    store.commit(Batch(tasks=[reopened], events=[inbound("E9", NOW, "T1")]))
    assert store.get_task("T1") == reopened
    assert [e.id for e in store.events_of_task("T1")] == ["E1", "E9"]
    store.close()
    store = open_store(path)
    assert store.loaded_shards == []
    assert {t.id for t in store.tasks([Status.OPEN])} == {"T1", "T4"}
    assert [e.id for e in store.events_of_task("T1")] == ["E1", "E9"]
    shard = TinyDB(path / "history" / "2025-01.json", access_mode="r")
    assert [doc["id"] for doc in shard.table("tasks").all()] == ["T2"]
    shard.close()
    assert store.stats().tasks_by_status == {"open": 2, "pending": 0, "closed": 2}
    store.close()


def test_lookups_after_reopen_find_hot_events_in_unread_buckets(path: Path) -> None:
    store = open_store(path)
    tasks = [make_task(f"T{n}", n) for n in range(1, 41)]
    events = [inbound(f"E{n}", 1000.0 + n, f"T{n}") for n in range(1, 41)]
    store.commit(Batch(customers=[ANA], tasks=tasks, events=events))
    store.close()
    store = open_store(path)
    assert store.message_by_external_id("mail", "<E17@example.com>").task_id == "T17"
    assert store.get_event("E33").task_id == "T33"
    assert store.get_event("nope") is None
    assert store.message_by_external_id("mail", "<nope>") is None
    assert store.stats().events == 40
    store.close()


def test_changes_before_a_bucket_is_read_are_kept(path: Path) -> None:
    store = open_store(path)
    reply = inbound("E2", 20.0, delivery="queued", external_id=None)
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 10.0), reply]))
    store.close()
    store = open_store(path)
    sent = dataclasses.replace(reply, delivery="sent", external_id="<sent>")
    store.commit(Batch(events=[sent, inbound("E3", 30.0)]))
    timeline = store.events_of_task("T1")
    assert [(e.id, e.delivery) for e in timeline] == [
        ("E1", "received"),
        ("E2", "sent"),
        ("E3", "received"),
    ]
    store.close()
    store = open_store(path)
    assert [e.id for e in store.events_of_task("T1")] == ["E1", "E2", "E3"]
    assert store.get_event("E2").delivery == "sent"
    store.close()


def test_customers_changed_before_they_are_read_are_kept(path: Path) -> None:
    store = open_store(path)
    other = Customer(id="C2", name="Bo", identities=[Identity.of("email", "bo@example.com")])
    store.commit(Batch(customers=[ANA, other]))
    store.close()
    store = open_store(path)
    store.commit(Batch(customers=[dataclasses.replace(ANA, name="Ana L.")]))
    assert store.get_customer("C1").name == "Ana L."
    assert store.customer_by_identity(Identity.of("email", "bo@example.com")).id == "C2"
    store.close()
    store = open_store(path)
    assert {c.name for c in store.customers()} == {"Ana L.", "Bo"}
    store.close()


# --- damage ------------------------------------------------------------------------------


def crashed_store(path: Path, commits: int) -> Path:
    """A store whose process committed ``commits`` batches and died without closing."""
    child = run_child(
        """
        import os, sys
        from pathlib import Path
        from agentdesk.store import Batch
        from agentdesk.store.tiny import TinyStore
        store = TinyStore.open(Path(sys.argv[1]))
        for n in range(int(sys.argv[2])):
            store.commit(Batch(meta={"n": n}))
        os._exit(0)
        """,
        str(path),
        str(commits),
    )
    assert child.returncode == 0, child.stderr
    (segment,) = path.glob("journal-*.jsonl")
    return segment


def test_truncated_tail_is_dropped_with_a_warning(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segment = crashed_store(path, 3)
    with open(segment, "ab") as journal:
        journal.write(b'{"seq":4,"crc":1,"batch":{"meta":{"n"')
    store = open_store(path)
    assert store.seq == 3
    assert store.get_meta("n") == 2
    assert len(store.warnings) == 1 and "incomplete last line" in store.warnings[0]
    assert "incomplete last line" in caplog.text
    # The damaged end is cut off, so new records do not follow it.
    assert store.commit(Batch(meta={"n": 99})) == 4
    store.close()
    store = open_store(path)
    assert store.get_meta("n") == 99
    assert store.warnings == []
    store.close()


def test_bad_checksum_at_the_tail_is_dropped(path: Path) -> None:
    segment = crashed_store(path, 3)
    data = segment.read_bytes()
    segment.write_bytes(data[:-4] + b"7}}\n")  # last record's meta value changed
    store = open_store(path)
    assert store.seq == 2
    assert "checksum mismatch" in store.warnings[0]
    store.close()


def test_damage_before_the_end_is_refused_unless_salvaged(path: Path) -> None:
    segment = crashed_store(path, 4)
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"n":1', b'"n":5')
    segment.write_bytes(b"".join(lines))
    with pytest.raises(JournalCorrupt, match=r"damaged .* before its end"):
        open_store(path)
    store = open_store(path, salvage=True)
    assert store.seq == 1
    assert "salvaged" in store.warnings[0]
    store.close()


def test_newer_format_is_refused_with_what_to_do(path: Path) -> None:
    open_store(path).close()
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(format=7, written_by="9.1.0")
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreVersionError) as refused:
        open_store(path)
    message = str(refused.value)
    assert "9.1.0" in message and "format 7" in message
    assert "Upgrade agentdesk" in message and "agentdesk export" in message
    # The refusal released the lock.
    with pytest.raises(StoreVersionError):
        open_store(path)


def test_directory_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an agentdesk store"):
        open_store(tmp_path)
    with pytest.raises(StoreError, match="not a directory"):
        open_store(tmp_path / "notes.txt")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write to, even as root (immutable flag)."""
    target = tmp_path / "ro"
    target.mkdir()
    open_store(target / "store").close()
    if os.geteuid() != 0:
        target.chmod(0o555)
        (target / "store").chmod(0o555)
        yield target
        (target / "store").chmod(0o755)
        target.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    flagged = []
    for folder in (target / "store", target):
        done = chattr and subprocess.run([chattr, "+i", str(folder)], capture_output=True)
        if not done or done.returncode != 0:
            break
        flagged.append(folder)
    try:
        if len(flagged) < 2:
            pytest.skip("running as root without the immutable flag: no way to deny writes")
        yield target
    finally:
        for folder in flagged:
            subprocess.run([chattr, "-i", str(folder)], check=True)


def test_read_only_directory_is_reported_clearly(read_only_dir: Path) -> None:
    with pytest.raises(StoreReadOnly, match="cannot write to the store"):
        open_store(read_only_dir / "store")
    with pytest.raises(StoreReadOnly, match="cannot create the store directory"):
        open_store(read_only_dir / "new")


class FullDisk(OsJournalFile):
    """A journal file on a disk that fills up when told: half a write, then ENOSPC."""

    full = False

    def write(self, data: bytes) -> None:
        if FullDisk.full:
            super().write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().write(data)


def test_full_disk_acknowledges_nothing_and_changes_nothing(path: Path) -> None:
    store = open_store(path, opener=FullDisk)
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    FullDisk.full = True
    try:
        with pytest.raises(StoreError, match=r"disk is full.*NOT saved"):
            store.commit(Batch(tasks=[make_task(subject="lost")], events=[inbound("E1", 1.0)]))
    finally:
        FullDisk.full = False
    assert store.seq == 1
    assert store.get_task("T1").subject == "Broken invoice"
    assert store.events_of_task("T1") == []
    assert store.commit(Batch(events=[inbound("E2", 2.0)])) == 2
    store.close()
    store = open_store(path)
    assert store.warnings == []
    assert store.get_task("T1").subject == "Broken invoice"
    assert [e.id for e in store.events_of_task("T1")] == ["E2"]
    store.close()


# --- locking and threads -----------------------------------------------------------------


def test_second_process_is_refused_with_the_holders_pid(path: Path) -> None:
    store = open_store(path)
    child = run_child(
        """
        import sys
        from pathlib import Path
        from agentdesk.store import StoreLocked
        from agentdesk.store.tiny import TinyStore
        try:
            TinyStore.open(Path(sys.argv[1]))
        except StoreLocked as exc:
            print(exc)
        """,
        str(path),
    )
    assert f"already open in process {os.getpid()}" in child.stdout, child.stderr
    with pytest.raises(StoreLocked):
        open_store(path)  # a second open in the same process is refused too
    store.close()
    open_store(path).close()


class GatedJournalFile(OsJournalFile):
    """Holds the first sync until released, and counts syncs."""

    gate = threading.Event()
    syncs = 0

    def sync(self) -> None:
        GatedJournalFile.syncs += 1
        if GatedJournalFile.syncs == 1:
            GatedJournalFile.gate.wait(timeout=30)
        super().sync()


def test_concurrent_commits_share_one_sync(path: Path) -> None:
    GatedJournalFile.syncs = 0
    GatedJournalFile.gate.clear()
    store = open_store(path, opener=GatedJournalFile)
    results: list[int] = []

    def commit(n: int) -> None:
        results.append(store.commit(Batch(meta={f"k{n}": n})))

    first = threading.Thread(target=commit, args=(0,))
    first.start()
    while GatedJournalFile.syncs == 0:  # the first commit is now inside its sync
        threading.Event().wait(0.001)
    others = [threading.Thread(target=commit, args=(n,)) for n in range(1, 9)]
    for thread in others:
        thread.start()
    while store._writers.waiting < 8:  # all of them wait behind the first
        threading.Event().wait(0.001)
    GatedJournalFile.gate.set()
    for thread in [first, *others]:
        thread.join()
    assert sorted(results) == list(range(1, 10))
    assert GatedJournalFile.syncs == 2
    store.close()
    store = open_store(path)
    assert store.get_meta("k8") == 8
    store.close()


class NoSecondSegment(OsJournalFile):
    """A disk on which the journal's second segment cannot be created."""

    def __init__(self, path: Path) -> None:
        if path.name == "journal-000002.jsonl":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().__init__(path)


def test_checkpoint_that_cannot_start_a_segment_keeps_the_journal_going(path: Path) -> None:
    store = open_store(path, checkpoint_every=3, checkpoint_growth=0, opener=NoSecondSegment)
    for n in range(7):
        store.commit(Batch(meta={f"k{n}": n}))
    assert any("could not write a checkpoint" in w for w in store.warnings)
    assert [p.name for p in path.glob("journal-*.jsonl")] == ["journal-000001.jsonl"]
    store._journal.close()  # a crash: no close, no final checkpoint
    store._lock.release()
    store = open_store(path)
    assert [store.get_meta(f"k{n}") for n in range(7)] == list(range(7))
    store.close()


def deny_writes(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
    elif not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)]).returncode:
        pytest.skip("running as root without the immutable flag: no way to deny writes")


def allow_writes(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o755)
    else:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_failed_checkpoint_loses_nothing_and_leaves_no_temporaries(path: Path) -> None:
    store = open_store(path)
    store.commit(Batch(customers=[ANA], tasks=[make_task()]))
    deny_writes(path / "hot")
    try:
        store.checkpoint()
    except OSError:
        pass
    else:
        pytest.fail("the checkpoint should have failed")
    finally:
        allow_writes(path / "hot")
    assert not list(path.rglob("*.tmp"))
    assert json.loads((path / "manifest.json").read_text())["seq"] == 0
    store.commit(Batch(events=[inbound("E1", 1.0)]))
    store.close()
    store = open_store(path)
    assert store.get_task("T1") == make_task()
    assert [e.id for e in store.events_of_task("T1")] == ["E1"]
    store.close()


def test_events_and_customers_edited_with_stock_tinydb_still_open(path: Path) -> None:
    store = open_store(path)
    other = Customer(id="C2", name="Bo", identities=[Identity.of("email", "bo@example.com")])
    events = [inbound("E1", 1.0), inbound("E2", 2.0)]
    store.commit(Batch(customers=[ANA, other], tasks=[make_task()], events=events))
    store.close()
    (bucket,) = [p for p in (path / "hot").glob("events-*.json") if "E1" in p.read_text()]
    db = TinyDB(bucket)
    db.table("events").remove(doc_ids=[1])  # E1 goes: the index no longer matches
    db.table("events").update({"text": "edited"}, doc_ids=[2])
    db.close()
    db = TinyDB(path / "hot" / "customers.json")
    db.table("customers").remove(doc_ids=[1])
    db.close()
    store = open_store(path)
    assert [(e.id, e.text) for e in store.events_of_task("T1")] == [("E2", "edited")]
    assert store.get_customer("C1") is None
    assert store.customer_by_identity(Identity.of("email", "bo@example.com")).id == "C2"
    store.commit(Batch(events=[inbound("E3", 3.0)]))
    store.close()
    store = open_store(path)
    assert [e.id for e in store.events_of_task("T1")] == ["E2", "E3"]
    assert store.message_by_external_id("mail", "<E2@example.com>").text == "edited"
    store.close()


def test_bulk_task_decoding_matches_the_codec() -> None:
    from agentdesk.domain import Priority
    from agentdesk.domain.codec import CodecError
    from agentdesk.store.batch_codec import object_text
    from agentdesk.store.bulk_decode import tasks_from_texts

    tasks = [
        make_task(),
        Task(id="T2", number=2, customer_id="C1"),  # every field at its default
        make_task("T3", 3, status=Status.PENDING, priority=Priority.URGENT, assignee="bo"),
    ]
    texts = [object_text(t) for t in tasks]
    # Older files leave fields at their default out.
    texts.append('{"id":"T4","number":4,"customer_id":"C1"}')
    tasks.append(Task(id="T4", number=4, customer_id="C1"))
    decoded = tasks_from_texts(texts)
    assert decoded == tasks
    decoded[3].skills.append("x")  # defaults are fresh lists, not shared
    assert tasks_from_texts(texts)[3].skills == []
    # Documents another tool wrote go through the checking codec.
    assert tasks_from_texts(['{"number":4,"customer_id":"C","id":"T4"}'])[0].id == "T4"
    with pytest.raises(CodecError, match="unknown field"):
        tasks_from_texts(['{"id":"T5","number":5,"customer_id":"C","colour":"red"}'])
    with pytest.raises(CodecError):
        tasks_from_texts(['{"id":"T6","number":6,"customer_id":"C","status":"lost"}'])


def test_bucket_rewrite_copies_untouched_blocks_and_appends_after_them(tmp_path: Path) -> None:
    from agentdesk.store.batch_codec import object_text
    from agentdesk.store.buckets import (
        BucketFile,
        Lookup,
        build_bucket,
        can_append,
        format_bucket,
        read_bucket,
    )

    def timeline(task_id: str, *ids: str, start: float = 0.0) -> tuple[str, list]:
        events = [inbound(i, start + n, task_id) for n, i in enumerate(ids)]
        return task_id, [(e, object_text(e)) for e in events]

    first = build_bucket(BucketFile(), [timeline("T1", "A", "B"), timeline("T2", "C")], (), ())
    path = tmp_path / "events-00.json"
    path.write_text(format_bucket(first))
    old = read_bucket(path)
    assert old == first
    # T2's block ended the table (no comma); it is copied into the middle now,
    # and T1 gets a new event after its block.
    later = timeline("T1", "E", start=10.0)
    assert can_append(old.index["tasks"]["T1"], [e for e, _ in later[1]])
    assert not can_append(old.index["tasks"]["T1"], [inbound("X", 0.5, "T1")])  # too early
    assert not can_append(old.index["tasks"]["T1"], [inbound("B", 20.0, "T1")])  # not new
    second = build_bucket(old, [timeline("T3", "D")], ["T2"], [later])
    path.write_text(format_bucket(second))
    again = read_bucket(path)
    assert again == second
    assert [json.loads(t)["id"] for t in again.block("T2")] == ["C"]
    assert [json.loads(t)["id"] for t in again.block("T1")] == ["A", "B", "E"]
    lookup = Lookup.of(again.index)
    assert lookup.event_task == {"D": "T3", "C": "T2", "A": "T1", "B": "T1", "E": "T1"}
    assert lookup.external["mail\x1f<C@example.com>"] == "C"
    db = TinyDB(path, access_mode="r")
    docs = db.table("events").all()
    assert sorted(d["id"] for d in docs) == ["A", "B", "C", "D", "E"]
    assert len({d.doc_id for d in docs}) == 5
    db.close()


def test_new_events_of_an_undecoded_task_are_appended_on_checkpoint(path: Path) -> None:
    store = open_store(path)
    store.commit(Batch(customers=[ANA], tasks=[make_task()], events=[inbound("E1", 1.0)]))
    store.close()
    store = open_store(path)
    store.commit(Batch(events=[inbound("E2", 2.0)]))  # the timeline was never read
    store.checkpoint()
    assert [e.id for e in store.events_of_task("T1")] == ["E1", "E2"]
    store.commit(Batch(events=[inbound("E0", 0.5)]))  # before the block: merged instead
    store.close()
    store = open_store(path)
    assert [e.id for e in store.events_of_task("T1")] == ["E0", "E1", "E2"]
    assert store.stats().events == 3
    store.close()


def test_bucket_index_keeps_ids_holding_its_separator(tmp_path: Path) -> None:
    from agentdesk.store.batch_codec import object_text
    from agentdesk.store.buckets import BucketFile, Lookup, build_bucket, format_bucket, read_bucket

    odd = inbound("E\x1e1", 1.0, external_id="x\x1ey")
    built = build_bucket(BucketFile(), [("T1", [(odd, object_text(odd))])], (), ())
    path = tmp_path / "events-00.json"
    path.write_text(format_bucket(built))
    lookup = Lookup.of(read_bucket(path).index)
    assert lookup.event_task == {"E\x1e1": "T1"}
    assert lookup.external == {"mail\x1fx\x1ey": "E\x1e1"}


def test_text_utf8_cannot_hold_is_saved_escaped_and_read_back(tmp_path: Path) -> None:
    """A lone surrogate (from a decoding mistake upstream) cannot be written as
    UTF-8: that object goes through the escaping encoder, nothing is refused."""
    store = TinyStore.open(tmp_path / "s")
    task = make_task("T1", 1)
    task.subject = "bad \udc80 byte, café"
    store.commit(Batch(tasks=[task]))
    assert store.get_task("T1").subject == "bad \udc80 byte, café"
    store.close()
    again = TinyStore.open(tmp_path / "s")
    assert again.get_task("T1").subject == "bad \udc80 byte, café"
    again.checkpoint()
    again.close()
    last = TinyStore.open(tmp_path / "s")
    assert last.get_task("T1").subject == "bad \udc80 byte, café"
    last.close()


def test_a_message_written_out_after_a_lookup_miss_is_still_found(path: Path) -> None:
    """Duplicates are recognised whether the message is in memory or on file,
    including one a checkpoint wrote after the store had looked for others."""
    store = open_store(path)
    store.commit(Batch(customers=[ANA], tasks=[make_task("T1", 1)], events=[inbound("E1", 1001.0)]))
    store.close()
    store = open_store(path)
    assert store.message_by_external_id("mail", "<E2@example.com>") is None
    store.commit(Batch(events=[inbound("E2", 1002.0)]))
    store.checkpoint()
    assert store.message_by_external_id("mail", "<E2@example.com>").id == "E2"
    assert store.message_by_external_id("mail", "<E1@example.com>").id == "E1"
    store.close()
    store = open_store(path)
    assert store.message_by_external_id("mail", "<E2@example.com>").id == "E2"
    store.close()


def test_timelines_written_whole_leave_memory_and_read_back_the_same(path: Path) -> None:
    store = open_store(path)
    tasks = [make_task(f"T{n}", n) for n in range(1, 31)]
    events = [inbound(f"E{n}", 1000.0 + n, f"T{n}") for n in range(1, 31)]
    store.commit(Batch(customers=[ANA], tasks=tasks, events=events))
    before = {t.id: store.events_of_task(t.id) for t in tasks}
    store.checkpoint()
    assert len(store._hot.state.events) == 0  # on file now, decoded when read
    assert store.get_event("E7").task_id == "T7"
    assert store.message_by_external_id("mail", "<E9@example.com>").id == "E9"
    store.commit(Batch(events=[inbound("E31", 2000.0, "T3")]))
    store.checkpoint()  # T3 grows; the other blocks are copied as they are
    store.commit(Batch(events=[inbound("E32", 2001.0, "T4")]))
    assert [e.id for e in store.events_of_task("T3")] == ["E3", "E31"]
    assert {t.id: store.events_of_task(t.id) for t in tasks[4:]} == {
        k: v for k, v in before.items() if k not in ("T1", "T2", "T3", "T4")
    }
    store.close()
    store = open_store(path)
    assert [e.id for e in store.events_of_task("T4")] == ["E4", "E32"]
    assert store.events_of_task("T30") == before["T30"]
    assert store.stats().events == 32
    store.close()
