"""Commits without sync become durable at the next sync, in order."""

from __future__ import annotations

from agentdesk.domain import Customer
from agentdesk.store import Batch
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
