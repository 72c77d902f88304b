"""Commits without sync become durable at the next sync, in order."""

from __future__ import annotations

import threading

import pytest

from agentdesk.domain import Customer
from agentdesk.store import Batch, StoreError
from agentdesk.store.journal import OsJournalFile
from agentdesk.store.tiny import TinyStore


def test_unsynced_commits_survive_sync_and_reopen(tmp_path):
    store = TinyStore.open(tmp_path / "s")
    seqs = [
        store.commit(Batch(customers=[Customer(id=f"c{i}", name=f"n{i}")]), sync=False)
        for i in range(5)
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert store.get_customer("c4").name == "n4"  # applied before the sync
    store.sync()
    store.sync()  # nothing pending: a no-op
    store.close()
    again = TinyStore.open(tmp_path / "s")
    try:
        assert [again.get_customer(f"c{i}").name for i in range(5)] == [f"n{i}" for i in range(5)]
        assert again.seq == seqs[-1]
    finally:
        again.close()


class SlowSyncFile(OsJournalFile):
    """Holds each sync until the test lets it go, and records what each covered."""

    gate = threading.Event()
    started = threading.Event()
    covered: list[int] = []

    @classmethod
    def hold(cls) -> None:
        """Hold the next syncs at the disk until ``gate`` is set."""
        cls.gate.clear()
        cls.started.clear()

    def sync(self) -> None:
        SlowSyncFile.started.set()
        size = self.size()
        SlowSyncFile.gate.wait(timeout=30)
        super().sync()
        SlowSyncFile.covered.append(size)


def second_sync_waits_for_the_first(store: TinyStore, first: threading.Thread) -> bool:
    """With ``first`` held at the disk: a second sync returns only after the
    disk is let go, and then returns."""
    returned = threading.Event()
    second = threading.Thread(target=lambda: (store.sync(), returned.set()))
    second.start()
    early = returned.wait(0.2)
    SlowSyncFile.gate.set()
    first.join(10)
    second.join(10)
    return not early and returned.is_set()


def test_sync_leaves_the_store_open_to_commits_and_never_returns_early(tmp_path):
    SlowSyncFile.hold()
    SlowSyncFile.covered = []
    store = TinyStore.open(tmp_path / "s", opener=SlowSyncFile)
    store.commit(Batch(meta={"a": 1}), sync=False)
    first = threading.Thread(target=store.sync)
    first.start()
    assert SlowSyncFile.started.wait(10)  # the first sync is at the disk
    # Meanwhile a commit goes through (the writer role is free) ...
    store.commit(Batch(meta={"b": 2}), sync=False)
    size_with_b = store._journal.bytes_written  # queued until a sync writes it
    # ... and a sync for it does not return on the strength of the first one.
    assert second_sync_waits_for_the_first(store, first)
    assert SlowSyncFile.covered[-1] >= size_with_b
    # A sync whose commits another sync in progress covers waits for that one.
    SlowSyncFile.hold()
    store.commit(Batch(meta={"c": 3}), sync=False)
    first = threading.Thread(target=store.sync)
    first.start()
    assert SlowSyncFile.started.wait(10)
    assert second_sync_waits_for_the_first(store, first)
    store.close()
    again = TinyStore.open(tmp_path / "s")
    assert again.get_meta("b") == 2
    again.close()


def test_a_checkpoint_during_a_sync_keeps_every_commit(tmp_path):
    SlowSyncFile.hold()
    SlowSyncFile.covered = []
    store = TinyStore.open(tmp_path / "s", opener=SlowSyncFile)
    store.commit(Batch(meta={"a": 1}), sync=False)
    syncing = threading.Thread(target=store.sync)
    syncing.start()
    assert SlowSyncFile.started.wait(10)
    checkpoint = threading.Thread(target=store.checkpoint)
    checkpoint.start()  # waits to close the segment until the sync is done
    SlowSyncFile.gate.set()
    syncing.join(10)
    checkpoint.join(10)
    store.commit(Batch(meta={"b": 2}), sync=False)
    store.sync()
    store.close()
    again = TinyStore.open(tmp_path / "s")
    assert (again.get_meta("a"), again.get_meta("b")) == (1, 2)
    again.close()


def journal_text(path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.glob("journal-*.jsonl")))


def test_unsynced_commits_reach_the_file_with_the_sync_not_before(tmp_path):
    """The committing thread never writes: the sync writes what is queued, in order."""
    store = TinyStore.open(tmp_path / "s")
    store.commit(Batch(meta={"a": 1}), sync=False)
    store.commit(Batch(meta={"b": 2}), sync=False)
    assert b'"a":1' not in journal_text(tmp_path / "s")
    # A reader of the journal sees every commit all the same.
    assert [b.meta for _, b in store.batches_since(0)] == [{"a": 1}, {"b": 2}]
    store.commit(Batch(meta={"c": 3}), sync=False)
    store.sync()
    text = journal_text(tmp_path / "s")
    assert text.index(b'"a":1') < text.index(b'"b":2') < text.index(b'"c":3')
    store.close()


class FailingWrite(OsJournalFile):
    """A disk that refuses writes when told."""

    refuse = False

    def write(self, data: bytes) -> None:
        if FailingWrite.refuse:
            raise OSError(28, "No space left on device")
        super().write(data)


def test_a_sync_that_cannot_write_acknowledges_nothing_and_stops_the_store(tmp_path):
    store = TinyStore.open(tmp_path / "s", opener=FailingWrite)
    store.commit(Batch(meta={"kept": 1}))
    store.commit(Batch(meta={"queued": 2}), sync=False)
    FailingWrite.refuse = True
    try:
        with pytest.raises(StoreError, match="could not write the journal"):
            store.sync()
        with pytest.raises(StoreError, match="reopen"):
            store.commit(Batch(meta={"later": 3}))
    finally:
        FailingWrite.refuse = False
    store._journal.close()  # as after a crash: no checkpoint of what memory holds
    store._lock.release()
    again = TinyStore.open(tmp_path / "s")
    assert (again.get_meta("kept"), again.get_meta("queued")) == (1, None)
    again.close()
