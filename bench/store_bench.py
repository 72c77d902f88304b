"""Store benchmark: TinyStore against stock TinyDB and SQLite (WAL) on the same data.

    python bench/store_bench.py                      # 100k tasks / 1M events
    python bench/store_bench.py --tasks 10000 --events 100000

For each engine, in its own process (so peak RSS is its own): build a store of
the generated data, then in a fresh process open it and list the open and
pending tasks (as Task objects), then append single acknowledged events (a
batch of one event plus the task's update) and report p50/p99.

Stock TinyDB rewrites its whole file on every insert, so it gets few append
samples (``--tinydb-samples``); its JSONStorage never fsyncs, so its appends
are not durable either. SQLite runs in WAL mode with ``synchronous=FULL``
(every commit is synced, like TinyStore's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from agentdesk.store.tiny import TinyStore

from agentdesk.domain import (
    Assignment,
    Customer,
    Direction,
    Event,
    Identity,
    Message,
    Note,
    Status,
    StatusChange,
    Task,
    codec,
)
from agentdesk.store import Batch

NOW = 1_790_000_000.0  # a fixed "now" so every run builds the same store
DAY = 86_400.0
SEED = 20_240_501
WORDS = [
    "invoice",
    "refund",
    "order",
    "delivery",
    "account",
    "password",
    "login",
    "broken",
    "thanks",
    "please",
    "help",
    "since",
    "yesterday",
    "still",
    "waiting",
    "charged",
    "twice",
    "package",
    "tracking",
    "number",
    "address",
    "wrong",
    "cancel",
    "subscription",
    "upgrade",
    "plan",
    "error",
    "page",
    "app",
    "crash",
    "phone",
    "email",
    "reply",
    "soon",
]


# --- data ----------------------------------------------------------------------------


def generate(
    tasks: int, events: int, seed: int = SEED
) -> Iterator[tuple[Customer | None, Task, list[Event]]]:
    """Tasks in creation order, each with its events; a customer the first time one appears.

    80% of the tasks are closed, spread over two years; open and pending tasks
    are from the last 60 days. Every task has about ``events / tasks`` events.
    """
    rng = random.Random(seed)
    customers = max(1, int(tasks / 2.5))
    seen: set[int] = set()
    starts = sorted(
        (NOW - rng.uniform(0, 60 * DAY), "live")
        if rng.random() < 0.2
        else (NOW - rng.uniform(0, 730 * DAY), "closed")
        for _ in range(tasks)
    )
    # Exactly ``events`` in all: the even share, moved between pairs of tasks.
    base, extra = divmod(events, tasks)
    counts = [base + (1 if i < extra else 0) for i in range(tasks)]
    for i in range(0, tasks - 1, 2):
        moved = rng.randint(0, max(0, min(counts[i], counts[i + 1]) - 1))
        counts[i] += moved
        counts[i + 1] -= moved
    rng.shuffle(counts)
    for number, ((created, kind), count) in enumerate(zip(starts, counts, strict=True), start=1):
        c = rng.randrange(customers)
        customer_id = f"C{c:07d}"
        customer = None
        if c not in seen:
            seen.add(c)
            identities = [Identity.of("email", f"customer{c}@example.com")]
            if c % 3 == 0:
                identities.append(Identity.of("phone", f"+3361{c:07d}"))
            customer = Customer(
                id=customer_id, name=f"Customer {c}", identities=identities, created_at=created
            )
        task_id = f"T{number:08d}"
        channel = ("mail", "chat", "sms", "social")[number % 4]
        task_events: list[Event] = []
        at = created
        for n in range(count):
            at += rng.uniform(60, 6 * 3600)
            common = {
                "id": f"{task_id}-{n:04d}",
                "task_id": task_id,
                "customer_id": customer_id,
                "at": at,
            }
            roll = rng.random()
            if roll < 0.85:
                inbound = n % 2 == 0
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 90)))
                task_events.append(
                    Message(
                        **common,
                        actor="customer" if inbound else "agent1",
                        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                        channel=channel,
                        channel_kind=channel,
                        text=text,
                        subject=f"Question {number}" if channel == "mail" else "",
                        external_id=f"{channel}-{task_id}-{n}",
                        identity=f"email:customer{c}@example.com",
                    )
                )
            elif roll < 0.95:
                task_events.append(
                    Note(**common, actor="agent1", text="checked the account, see CRM")
                )
            elif roll < 0.98:
                task_events.append(Assignment(**common, new_assignee="agent1"))
            else:
                task_events.append(StatusChange(**common, old="open", new="pending"))
        status = Status.CLOSED
        closed_at = None
        if kind == "live":
            status = Status.PENDING if number % 5 == 0 else Status.OPEN
        else:
            closed_at = min(at + rng.uniform(60, 3 * DAY), NOW - 60)
        last = task_events[-1] if task_events else None
        task = Task(
            id=task_id,
            number=number,
            customer_id=customer_id,
            customer_name=f"Customer {c}",
            status=status,
            channel=channel,
            channel_kind=channel,
            subject=f"Question {number}",
            preview=(last.text[:120] if isinstance(last, Message) else ""),
            created_at=created,
            updated_at=at,
            closed_at=closed_at,
            waiting_since=at if status == Status.OPEN else None,
            unread=status == Status.OPEN,
        )
        yield customer, task, task_events


def append_samples(open_tasks: list[Task], count: int) -> Iterator[tuple[Task, Message]]:
    """``count`` (task update, new inbound message) pairs on the open tasks."""
    # New ids and later times each run, so a store can be measured again.
    run, start = f"{time.time_ns():x}", max(NOW, time.time())
    for n in range(count):
        task = open_tasks[n % len(open_tasks)]
        at = start + n / 1000
        message = Message(
            id=f"BENCH-{run}-{n:07d}",
            task_id=task.id,
            customer_id=task.customer_id,
            at=at,
            actor="customer",
            direction=Direction.INBOUND,
            channel=task.channel,
            channel_kind=task.channel_kind,
            text="Hello, any news about my " + WORDS[n % len(WORDS)] + "?",
            external_id=f"bench-{run}-{n}",
        )
        yield replace(task, updated_at=at, preview=message.text, unread=True), message


# --- engines ---------------------------------------------------------------------------


def build_tiny(path: Path, args: argparse.Namespace) -> None:
    store = TinyStore.open(path, clock=lambda: NOW)
    batch = Batch()
    for customer, task, events in generate(args.tasks, args.events):
        if customer is not None:
            batch.customers.append(customer)
        batch.tasks.append(task)
        batch.events.extend(events)
        if len(batch.events) >= 5_000:  # the bulk path: few large batches
            store.commit(batch)
            batch = Batch()
    store.commit(batch)
    store.close()


def open_tiny(path: Path) -> tuple[object, list[Task]]:
    store = TinyStore.open(path, clock=lambda: NOW)
    return store, list(store.tasks([Status.OPEN, Status.PENDING]))


def append_tiny(store: TinyStore, task: Task, message: Message) -> None:
    store.commit(Batch(tasks=[task], events=[message]))


def build_tinydb(path: Path, args: argparse.Namespace) -> None:
    from tinydb import TinyDB

    customers, tasks, events = [], [], []
    for customer, task, task_events in generate(args.tasks, args.events):
        if customer is not None:
            customers.append(codec.to_dict(customer))
        tasks.append(codec.to_dict(task))
        events.extend(codec.to_dict(e) for e in task_events)
    path.mkdir()
    db = TinyDB(path / "db.json")
    db.table("customers").insert_multiple(customers)
    db.table("tasks").insert_multiple(tasks)
    db.table("events").insert_multiple(events)
    db.close()


def open_tinydb(path: Path) -> tuple[object, list[Task]]:
    from tinydb import Query, TinyDB

    db = TinyDB(path / "db.json")
    docs = db.table("tasks").search(Query().status.one_of(["open", "pending"]))
    return db, [codec.task_from_dict(doc) for doc in docs]


def append_tinydb(db, task: Task, message: Message) -> None:
    from tinydb import Query

    # Two writes, each rewriting the whole file: that is how stock TinyDB works.
    db.table("events").insert(codec.to_dict(message))
    db.table("tasks").update(codec.to_dict(task), Query().id == task.id)


def build_sqlite(path: Path, args: argparse.Namespace) -> None:
    path.mkdir()
    db = sqlite3.connect(path / "store.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(
        """
        CREATE TABLE customers (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
        CREATE TABLE tasks (id TEXT PRIMARY KEY, number INTEGER UNIQUE, status TEXT,
                            customer_id TEXT, doc TEXT NOT NULL);
        CREATE INDEX tasks_status ON tasks(status);
        CREATE INDEX tasks_customer ON tasks(customer_id);
        CREATE TABLE events (id TEXT PRIMARY KEY, task_id TEXT, at REAL, channel TEXT,
                             external_id TEXT, doc TEXT NOT NULL);
        CREATE INDEX events_task ON events(task_id, at);
        CREATE INDEX events_external ON events(channel, external_id);
        """
    )
    with db:
        for customer, task, events in generate(args.tasks, args.events):
            if customer is not None:
                db.execute(
                    "INSERT INTO customers VALUES (?, ?)",
                    (customer.id, json.dumps(codec.to_dict(customer))),
                )
            _sqlite_put_task(db, task)
            db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [_sqlite_event_row(e) for e in events],
            )
    db.close()


def _sqlite_put_task(db: sqlite3.Connection, task: Task) -> None:
    db.execute(
        "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
        (task.id, task.number, str(task.status), task.customer_id, json.dumps(codec.to_dict(task))),
    )


def _sqlite_event_row(event: Event) -> tuple:
    return (
        event.id,
        event.task_id,
        event.at,
        getattr(event, "channel", None),
        getattr(event, "external_id", None),
        json.dumps(codec.to_dict(event)),
    )


def open_sqlite(path: Path) -> tuple[object, list[Task]]:
    db = sqlite3.connect(path / "store.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    rows = db.execute("SELECT doc FROM tasks WHERE status IN ('open', 'pending')").fetchall()
    return db, [codec.task_from_dict(json.loads(doc)) for (doc,) in rows]


def append_sqlite(db: sqlite3.Connection, task: Task, message: Message) -> None:
    db.execute("BEGIN")
    db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", _sqlite_event_row(message))
    _sqlite_put_task(db, task)
    db.execute("COMMIT")


ENGINES = {
    "TinyStore": (build_tiny, open_tiny, append_tiny),
    "stock TinyDB": (build_tinydb, open_tinydb, append_tinydb),
    "SQLite WAL": (build_sqlite, open_sqlite, append_sqlite),
}


# --- measuring (each engine in a child process) ------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if fraction == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(engine: str, path: Path, samples: int) -> dict:
    _, open_engine, append = ENGINES[engine]
    started = time.perf_counter()
    handle, listed = open_engine(path)
    opened = time.perf_counter() - started
    result: dict = {"open_list_s": opened, "listed": len(listed), "rss_open_mb": rss_mb()}
    if isinstance(handle, TinyStore):
        # What the first uses after opening cost (parts read lazily).
        open_tasks = [t for t in listed if t.status == Status.OPEN]
        started = time.perf_counter()
        handle.events_of_task(open_tasks[0].id)
        result["first_timeline_s"] = time.perf_counter() - started
        started = time.perf_counter()
        handle.message_by_external_id("mail", "no-such-message")
        result["first_dedupe_s"] = time.perf_counter() - started
        started = time.perf_counter()
        handle.get_customer("C0000000")
        result["first_customer_s"] = time.perf_counter() - started
    open_tasks = [t for t in listed if t.status == Status.OPEN]
    # Each append follows a bare sync of the same disk, so both see the same
    # conditions (other work on the machine moves the disk's latency a lot).
    probe = FsyncProbe(path.parent)
    times, floor = [], []
    for task, message in append_samples(open_tasks, samples):
        floor.append(probe())
        started = time.perf_counter()
        append(handle, task, message)
        times.append(time.perf_counter() - started)
    probe.close()
    result.update(
        samples=len(times),
        p50_ms=_percentile(times, 0.5) * 1000,
        p99_ms=_percentile(times, 0.99) * 1000,
        floor_p50_ms=_percentile(floor, 0.5) * 1000,
        floor_p99_ms=_percentile(floor, 0.99) * 1000,
        rss_peak_mb=rss_mb(),
    )
    if isinstance(handle, TinyStore):
        started = time.perf_counter()
        handle.close()
        result["close_s"] = time.perf_counter() - started
    return result


def child(args: argparse.Namespace) -> None:
    path = Path(args.path)
    if args.role == "build":
        started = time.perf_counter()
        ENGINES[args.engine][0](path, args)
        result = {"build_s": time.perf_counter() - started, "rss_build_mb": rss_mb()}
    else:
        result = measure(args.engine, path, args.samples)
    print(json.dumps(result))


def run_child(role: str, engine: str, path: Path, args: argparse.Namespace, samples: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--engine",
        engine,
        "--path",
        str(path),
        "--tasks",
        str(args.tasks),
        "--events",
        str(args.events),
        "--samples",
        str(samples),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} {role} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class FsyncProbe:
    """The disk's own latency: append 600 bytes to a file and fdatasync it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "fsync-probe"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def __call__(self) -> float:
        started = time.perf_counter()
        os.write(self._fd, b"x" * 599 + b"\n")
        os.fdatasync(self._fd)
        return time.perf_counter() - started

    def close(self) -> None:
        os.close(self._fd)
        self.path.unlink()


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.3f} ms"


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2_000, help="appends per engine")
    parser.add_argument("--tinydb-samples", type=int, default=3, help="appends for stock TinyDB")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--dir", help="where to build (default: a temporary directory)")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the stores already built in --dir"
    )
    parser.add_argument("--role", choices=["build", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child(args)
        return
    root = Path(args.dir or tempfile.mkdtemp(prefix="store-bench-"))
    python = sys.version.split()[0]
    print(f"{args.tasks:,} tasks / {args.events:,} events; {os.cpu_count()} CPUs; python {python}")
    rows = []
    for engine in args.engines.split(","):
        path = root / engine.replace(" ", "-")
        if args.reuse and path.exists():
            built = {"build_s": 0.0}
        else:
            shutil.rmtree(path, ignore_errors=True)
            built = run_child("build", engine, path, args, 0)
        samples = args.tinydb_samples if engine == "stock TinyDB" else args.samples
        measured = run_child("measure", engine, path, args, samples)
        rows.append((engine, built, measured, size_mb(path)))
        print(f"  {engine}: built in {built['build_s']:.1f} s, {json.dumps(measured)}", flush=True)
    print()
    print(
        "| engine | append p50 | append p99 | samples | disk floor p50 / p99 "
        "| open + list open tasks | tasks listed | peak RSS | on disk |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for engine, _built, m, size in rows:
        print(
            f"| {engine} | {_ms(m['p50_ms'])} | {_ms(m['p99_ms'])} | {m['samples']} "
            f"| {m['floor_p50_ms']:.3f} / {m['floor_p99_ms']:.3f} ms "
            f"| {m['open_list_s']:.2f} s | {m['listed']:,} | {m['rss_peak_mb']:.0f} MB "
            f"| {size:.0f} MB |"
        )
    print(
        "\n(disk floor: appending 600 bytes to a file and fdatasync'ing it, once before "
        "each append, so both see the same disk)"
    )
    for engine, _built, m, _size in rows:
        if "first_timeline_s" in m:
            print(
                f"\n{engine} first uses after opening: a task's timeline "
                f"{m['first_timeline_s'] * 1000:.0f} ms, "
                f"first duplicate check {m['first_dedupe_s'] * 1000:.0f} ms, first customer "
                f"{m['first_customer_s'] * 1000:.0f} ms; close (checkpoint) {m['close_s']:.2f} s; "
                f"RSS after open {m['rss_open_mb']:.0f} MB"
            )
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
