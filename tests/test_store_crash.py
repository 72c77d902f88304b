"""Kill a writing process at random moments; no acknowledged change may be lost.

A child process commits as fast as it can and prints each sequence number and
event id once ``commit`` has returned. The parent kills it with SIGKILL, at
random moments, many times; checkpoints are frequent (and move tasks to and
from history), so kills land in every step of a checkpoint too. After each
kill the store must open and hold every acknowledged event exactly once.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from agentdesk.store.tiny import TinyStore

KILLS = 20

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from agentdesk.domain import Customer, Direction, Message, Status, Task
    from agentdesk.store import Batch
    from agentdesk.store.tiny import TinyStore

    path, run, grouped = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "grouped"
    store = TinyStore.open(
        path, checkpoint_every=40, checkpoint_growth=0, clock=lambda: 1_790_000_000.0
    )
    if store.get_customer("C") is None:
        store.commit(Batch(customers=[Customer(id="C", name="Ana")]))
    print("ready", flush=True)
    n = 0
    unsynced = []
    while True:
        n += 1
        task_id = f"T{n % 12}"
        task = store.get_task(task_id) or Task(id=task_id, number=n % 12 + 1, customer_id="C")
        # Every fifth change closes the task long ago (a checkpoint moves it to
        # history); the next change to it brings it back.
        if n % 5 == 0:
            closed_at = 1_700_000_000.0 + (n % 7) * 2_700_000
            task.status, task.closed_at = Status.CLOSED, closed_at
        else:
            task.status, task.closed_at = Status.OPEN, None
        task.updated_at = float(n)
        event_id = f"{run}-{n:07d}"
        event = Message(id=event_id, task_id=task_id, customer_id="C", at=float(n),
                        direction=Direction.INBOUND, channel="mail", text="x" * (n % 300),
                        external_id=event_id)
        if not grouped:
            seq = store.commit(Batch(tasks=[task], events=[event]))
            print(seq, event_id, flush=True)
            continue
        # As the desk ingests: commits without sync, acknowledged after one sync.
        unsynced.append((store.commit(Batch(tasks=[task], events=[event]), sync=False), event_id))
        if n % 7 == 0 or len(unsynced) > n % 5:
            store.sync()
            for seq, acknowledged in unsynced:
                print(seq, acknowledged, flush=True)
            unsynced = []
    """
)


def run_and_kill(path: Path, run: str, delay: float, mode: str) -> list[tuple[int, str]]:
    """Start the writer, kill it ``delay`` s after it is ready; return what it acknowledged."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), run, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first == b"ready\n", child.stderr.read() if child.stderr else first
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(child.stdout.read()))
    reader.start()
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join()
    acknowledged = []
    for line in b"".join(chunks).split(b"\n")[:-1]:  # the last piece may be cut short
        seq, event_id = line.decode().split()
        acknowledged.append((int(seq), event_id))
    return acknowledged


@pytest.mark.parametrize("mode", ["each", "grouped"])
def test_no_acknowledged_commit_is_lost_when_killed(tmp_path: Path, mode: str) -> None:
    """``grouped``: commits without sync, acknowledged once a sync writes the
    journal's queue; a kill then also lands between a commit and its sync."""
    path = tmp_path / "store"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    acknowledged: dict[str, int] = {}
    for kill in range(KILLS):
        got = run_and_kill(path, f"r{kill:02d}", rng.uniform(0.02, 0.35), mode)
        acknowledged.update((event_id, seq) for seq, event_id in got)
        store = TinyStore.open(path)
        try:
            context = f"seed {seed}, after kill {kill + 1}"
            assert store.seq >= max(acknowledged.values(), default=0), context
            counts = collections.Counter(event.id for event in store.iter_events())
            missing = [e for e in acknowledged if counts[e] != 1]
            assert not missing, f"{context}: lost or doubled {missing[:5]}"
            assert all(n == 1 for n in counts.values()), context
            task_ids = [task.id for task in store.tasks()]
            assert len(task_ids) == len(set(task_ids)), context
        finally:
            if kill % 2:
                store.close()  # a checkpoint by the parent, half the time
            else:
                store._journal.close()  # leave as the crash left it
                store._lock.release()
    assert len(acknowledged) > KILLS  # the writer did get work done between kills
