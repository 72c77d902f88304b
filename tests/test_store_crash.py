"""Kill a writing process at random moments: nothing acknowledged is lost, nothing
is doubled, and the store always opens.

Each trial forks a writer (the test process has imported everything once, so a
trial costs a fork rather than an interpreter start). The writer commits groups
of batches as the desk ingests them: new tasks numbered by the store, changes
to existing tasks at the version it read, messages with the channel's external
id, plugin state; it reports each batch's sequence number and event id on a
pipe once its group has committed. It also delivers again the messages of its
last, unacknowledged group, as a channel does after a restart: the store must
drop those it already holds. WAL checkpoints are made frequent, so kills also
land inside them. The parent kills it with SIGKILL after a random delay, then
opens the store and checks every acknowledged message is there exactly once,
searchable, with sequence numbers and task numbers intact.

``AGENTDESK_CRASH_TRIALS`` sets the number of trials (300 by default; the
nightly-size run in docs/benchmarks.md uses 1000).
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import select
import signal
import time
import traceback
from pathlib import Path

from agentdesk.domain import Customer, Direction, Message, Status, Task
from agentdesk.domain.evolve import evolve
from agentdesk.search import parse_query
from agentdesk.store import Batch, DuplicateKey
from agentdesk.store.sqlite_store import SqliteStore

TRIALS = int(os.environ.get("AGENTDESK_CRASH_TRIALS", "300"))


def writer(path: Path, run: int, out: int, seed: int) -> None:
    """The child's work: commit until killed, acknowledging on ``out``."""
    rng = random.Random(seed)
    store = SqliteStore.open(path)
    store._db.execute("PRAGMA wal_autocheckpoint = 8")  # checkpoints every few groups
    if store.get_customer("C") is None:
        store.commit(Batch(customers=[Customer(id="C", name="Ana")]))
    # A channel delivers again what it was not sure was stored, as a new event.
    for external_id in store.get_state("crash", "unsure") or []:
        earlier = store.message_by_external_id("mail", external_id)
        if earlier is not None:
            again = _message(f"again-{run}-{external_id}", earlier.task_id, external_id)
            with contextlib.suppress(DuplicateKey):
                store.commit(Batch(events=[again]))
    os.write(out, b"ready\n")
    n = 0
    while True:
        lines = []
        with store.group() as group:
            for _ in range(rng.randint(1, 12)):
                n += 1
                event_id = f"r{run:04d}-{n:06d}"
                held = store.get_task(f"T{n % 9}")
                task = held or Task(id=f"T{n % 9}", customer_id="C", created_at=float(n))
                task = evolve(
                    task,
                    status=Status.CLOSED if n % 5 == 0 else Status.OPEN,
                    updated_at=float(run * 1_000_000 + n),
                )
                if rng.random() < 0.2:
                    task = Task(id=f"N{event_id}", customer_id="C", updated_at=float(n))
                batch = Batch(
                    tasks=[task],
                    events=[_message(event_id, task.id, event_id)],
                    state=[("crash", "unsure", [event_id])],
                )
                lines.append(f"{group.apply(batch)} {event_id} {task.id}\n")
        os.write(out, "".join(lines).encode())


def _message(event_id: str, task_id: str, external_id: str) -> Message:
    return Message(
        id=event_id,
        task_id=task_id,
        customer_id="C",
        at=1.0,
        direction=Direction.INBOUND,
        channel="mail",
        text=f"message tok{external_id.replace('-', 'x')} " + "x" * (hash(event_id) % 300),
        external_id=external_id,
    )


def trial(path: Path, run: int, delay: float, seed: int) -> list[tuple[int, str, str]]:
    """Fork a writer, kill it ``delay`` s after it is ready; return what it acknowledged."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer
        os.close(read)
        try:
            writer(path, run, write, seed)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    os.close(write)
    data = b""
    deadline = None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([read], [], [], timeout)
        if not ready:
            break
        chunk = os.read(read, 65536)
        if not chunk:
            break
        data += chunk
        if deadline is None and b"ready\n" in data:
            deadline = time.monotonic() + delay
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(read)
    assert data.startswith(b"ready\n"), data[:200]
    acknowledged = []
    for line in data[len(b"ready\n") :].split(b"\n")[:-1]:  # the last may be cut short
        seq, event_id, task_id = line.decode().split()
        acknowledged.append((int(seq), event_id, task_id))
    return acknowledged


def test_no_acknowledged_change_is_lost_doubled_or_unreadable_when_killed(tmp_path: Path) -> None:
    path = tmp_path / "store"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    acknowledged: dict[str, tuple[int, str]] = {}
    for run in range(TRIALS):
        context = f"seed {seed}, after kill {run + 1}"
        for seq, event_id, task_id in trial(path, run, rng.uniform(0.0, 0.06), rng.random()):
            acknowledged[event_id] = (seq, task_id)
        store = SqliteStore.open(path)
        try:
            highest = max((seq for seq, _ in acknowledged.values()), default=0)
            assert store.seq >= highest, context
            events = list(store.iter_events())
            counts = collections.Counter(event.external_id for event in events)
            doubled = [e for e, n in counts.items() if n != 1]
            assert not doubled, f"{context}: doubled {doubled[:5]}"
            held = {event.id for event in events}
            missing = [e for e in acknowledged if e not in held]
            assert not missing, f"{context}: lost {missing[:5]}"
            numbers = [task.number for task in store.tasks()]
            assert len(numbers) == len(set(numbers)) and 0 not in numbers, context
            if acknowledged and run % 10 == 0:
                event_id, (_, task_id) = max(acknowledged.items())
                token = "tok" + event_id.replace("-", "x")
                hits = store.search(parse_query(token), me=None, now=0.0).hits
                assert [h.task_id for h in hits] == [task_id], f"{context}: {token} not found"
                assert store.integrity_check() == [], context
        finally:
            if run % 2:
                store.close()  # a clean close half the time; else as the crash left it
            else:
                store._db.close()
                store._lock.release()  # type: ignore[union-attr]
    assert len(acknowledged) > TRIALS  # the writers did get work done between kills
