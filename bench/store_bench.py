"""Store benchmark: SqliteStore beside raw SQLite, stock TinyDB and the previous store.

    python bench/store_bench.py                                # 100k tasks / 1M events
    python bench/store_bench.py --tasks 10000 --events 100000
    python bench/store_bench.py --baseline ../baseline         # and a previous checkout

For each engine, in its own process (so peak RSS is its own): build a store of
the same generated data (``bench/dataset.py``), then in a fresh process open
it and list the open and pending tasks (as Task objects), then append single
acknowledged messages (a task update and a message, one durable commit each)
and report p50/p99 beside the disk's own sync latency; then close it.

Then the desk on the store, in an event loop with a 5 ms timer watching it:
agents' notes committed one after the other while the loop's worst lateness
is recorded, and the time ``close`` takes after that session: what the
console would feel.

``--baseline TREE`` also runs the store benchmark and the same desk session in
another checkout of the project (``git worktree add ../baseline <commit>``) on
its own store of the same data, and prints its rows beside.

Stock TinyDB rewrites its whole file on every insert, so it gets few append
samples (``--tinydb-samples``); its JSONStorage never syncs, so its appends are
not durable either. Raw SQLite is the engine alone in WAL mode with
``synchronous=FULL``: the floor under any store built on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import append_samples, batches, build, generate

from agentdesk.domain import Event, Status, Task
from agentdesk.domain.codec import encode, to_builtins
from agentdesk.store import Batch

# --- engines ---------------------------------------------------------------------------


def build_store(path: Path, args: argparse.Namespace) -> None:
    build(path, args.tasks, args.events)


def open_store(path: Path) -> tuple[object, list[Task]]:
    from agentdesk.store.sqlite_store import SqliteStore

    store = SqliteStore.open(path)
    return store, store.tasks([Status.OPEN, Status.PENDING])


def append_store(store, task: Task, message: Event) -> None:
    store.commit(Batch(tasks=[task], events=[message]))


def build_tinydb(path: Path, args: argparse.Namespace) -> None:
    from tinydb import TinyDB

    customers, tasks, events = [], [], []
    for customer, task, task_events in generate(args.tasks, args.events):
        if customer is not None:
            customers.append(to_builtins(customer))
        tasks.append(to_builtins(task))
        events.extend(to_builtins(e) for e in task_events)
    path.mkdir()
    db = TinyDB(path / "db.json")
    db.table("customers").insert_multiple(customers)
    db.table("tasks").insert_multiple(tasks)
    db.table("events").insert_multiple(events)
    db.close()


def open_tinydb(path: Path) -> tuple[object, list[Task]]:
    from tinydb import Query, TinyDB

    from agentdesk.domain.codec import from_builtins

    db = TinyDB(path / "db.json")
    docs = db.table("tasks").search(Query().status.one_of(["open", "pending"]))
    return db, [from_builtins(Task, doc) for doc in docs]


def append_tinydb(db, task: Task, message: Event) -> None:
    from tinydb import Query

    # Two writes, each rewriting the whole file: that is how stock TinyDB works.
    db.table("events").insert(to_builtins(message))
    db.table("tasks").update(to_builtins(task), Query().id == task.id)


_RAW_SCHEMA = """
CREATE TABLE customers (id TEXT PRIMARY KEY, doc BLOB NOT NULL);
CREATE TABLE tasks (id TEXT PRIMARY KEY, number INTEGER UNIQUE, status TEXT,
                    customer_id TEXT, doc BLOB NOT NULL);
CREATE INDEX tasks_status ON tasks(status);
CREATE INDEX tasks_customer ON tasks(customer_id);
CREATE TABLE events (id TEXT PRIMARY KEY, task_id TEXT, at REAL, channel TEXT,
                     external_id TEXT, doc BLOB NOT NULL);
CREATE INDEX events_task ON events(task_id, at);
CREATE INDEX events_external ON events(channel, external_id);
"""


def build_sqlite(path: Path, args: argparse.Namespace) -> None:
    path.mkdir()
    db = sqlite3.connect(path / "raw.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_RAW_SCHEMA)
    with db:
        for batch in batches(args.tasks, args.events):
            db.executemany(
                "INSERT INTO customers VALUES (?, ?)", [(c.id, encode(c)) for c in batch.customers]
            )
            for task in batch.tasks:
                _sqlite_put_task(db, task)
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", map(_row, batch.events))
    db.close()


def _sqlite_put_task(db: sqlite3.Connection, task: Task) -> None:
    db.execute(
        "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
        (task.id, task.number, str(task.status), task.customer_id, encode(task)),
    )


def _row(event: Event) -> tuple:
    channel, external = getattr(event, "channel", None), getattr(event, "external_id", None)
    return (event.id, event.task_id, event.at, channel, external, encode(event))


def open_sqlite(path: Path) -> tuple[object, list[Task]]:
    from agentdesk.store.sqlite_reads import decode_all

    db = sqlite3.connect(path / "raw.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    rows = db.execute("SELECT doc FROM tasks WHERE status IN ('open', 'pending')").fetchall()
    return db, decode_all(Task, (doc for (doc,) in rows))


def append_sqlite(db: sqlite3.Connection, task: Task, message: Event) -> None:
    db.execute("BEGIN")
    db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", _row(message))
    _sqlite_put_task(db, task)
    db.execute("COMMIT")


ENGINES = {
    "SqliteStore": (build_store, open_store, append_store),
    "raw SQLite WAL": (build_sqlite, open_sqlite, append_sqlite),
    "stock TinyDB": (build_tinydb, open_tinydb, append_tinydb),
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
    result: dict = {
        "open_list_s": time.perf_counter() - started,
        "listed": len(listed),
        "rss_open_mb": rss_mb(),
    }
    open_tasks = [t for t in listed if t.status == Status.OPEN]
    if engine == "SqliteStore":
        started = time.perf_counter()
        handle.events_of_task(open_tasks[0].id)
        handle.message_by_external_id("mail", "no-such-message")
        handle.get_customer("C0000000")
        result["first_reads_s"] = time.perf_counter() - started
    # Each append follows a bare sync of the same disk, so both see the same
    # conditions (other work on the machine moves the disk's latency a lot).
    probe = FsyncProbe(path.parent)
    times, floor = [], []
    versions: dict[str, int] = {t.id: t.version for t in open_tasks}
    for task, message in append_samples(open_tasks, samples):
        task.version = versions[task.id]
        floor.append(probe())
        started = time.perf_counter()
        append(handle, task, message)
        times.append(time.perf_counter() - started)
        versions[task.id] = task.version
    probe.close()
    result.update(
        samples=len(times),
        p50_ms=_percentile(times, 0.5) * 1000,
        p99_ms=_percentile(times, 0.99) * 1000,
        floor_p50_ms=_percentile(floor, 0.5) * 1000,
        floor_p99_ms=_percentile(floor, 0.99) * 1000,
        rss_peak_mb=rss_mb(),
    )
    started = time.perf_counter()
    handle.close()
    result["close_s"] = time.perf_counter() - started
    return result


def child(args: argparse.Namespace) -> None:
    path = Path(args.path)
    if args.role == "build":
        started = time.perf_counter()
        ENGINES[args.engine][0](path, args)
        print(json.dumps({"build_s": time.perf_counter() - started}))
    else:
        print(json.dumps(measure(args.engine, path, args.samples)))


def run_child(role: str, engine: str, path: Path, args: argparse.Namespace, samples: int) -> dict:
    command = [sys.executable, __file__, "--role", role, "--engine", engine, "--path", str(path)]
    command += ["--tasks", str(args.tasks), "--events", str(args.events)]
    command += ["--samples", str(samples)]
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


# --- the desk on the store: the event loop and close ----------------------------------------

# Run as ``python -c`` with either checkout on the path: the desk API it uses
# (Desk(store), an agent's note, close) is in both, a note spelt two ways.
SESSION = """
import asyncio, json, sys, time
from pathlib import Path
from agentdesk.core.desk import Desk
from agentdesk.domain import Status
try:
    from agentdesk.store.sqlite_store import SqliteStore as Engine
except ImportError:
    from agentdesk.store.tiny import TinyStore as Engine

async def main(path, notes):
    store = Engine.open(Path(path))
    desk = Desk(store)
    try:
        from agentdesk.core.desk import LocalDeskClient
        note = LocalDeskClient(desk, "ana").note
    except ImportError:  # before the desk took requests
        note = lambda task_id, text: desk.commands.note(task_id, text, actor="ana")
    tasks = [t for t in store.tasks([Status.OPEN])][:200]
    worst = 0.0
    async def watch():
        nonlocal worst
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - began - 0.005)
    watcher = asyncio.create_task(watch())
    began = time.perf_counter()
    for n in range(notes):
        await note(tasks[n % len(tasks)].id, f"note {n} for the team")
    elapsed = time.perf_counter() - began
    watcher.cancel()
    desk.close()
    closing = time.perf_counter()
    store.close()
    closed = time.perf_counter() - closing
    print(json.dumps({"notes": notes, "notes_per_s": notes / elapsed,
                      "loop_lag_ms": worst * 1000, "close_s": closed}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def run_session(path: Path, notes: int, tree: Path | None = None) -> dict:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = f"{tree}{os.pathsep}{tree / 'plugins'}"
    done = subprocess.run(
        [sys.executable, "-c", SESSION, str(path), str(notes)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree or Path.cwd(),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"desk session failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_baseline(tree: Path, root: Path, args: argparse.Namespace) -> tuple[dict, dict, Path]:
    """The previous store's build and measurements, from its own checkout."""
    tree = tree.resolve()
    folder = root / "baseline"
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'plugins'}"}
    command = [sys.executable, str(tree / "bench" / "store_bench.py"), "--engines", "TinyStore"]
    command += ["--tasks", str(args.tasks), "--events", str(args.events), "--dir", str(folder)]
    command += ["--samples", str(args.samples)]
    if args.reuse and (folder / "TinyStore").exists():
        command.append("--reuse")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree, check=True)
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("TinyStore: built"))
    built = float(line.split("built in ")[1].split(" s,")[0])
    return {"build_s": built}, json.loads(line.split(" s, ", 1)[1]), folder / "TinyStore"


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
    parser.add_argument("--notes", type=int, default=2_000, help="notes in the desk session")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--baseline", type=Path, help="another checkout to run beside")
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
    rows, sessions = [], {}
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
        if engine == "SqliteStore":
            sessions[engine] = run_session(path, args.notes)
    if args.baseline:
        built, measured, path = run_baseline(args.baseline, root, args)
        rows.append(("TinyStore (baseline)", built, measured, size_mb(path)))
        print(f"  baseline TinyStore: {json.dumps(measured)}", flush=True)
        sessions["TinyStore (baseline)"] = run_session(path, args.notes, args.baseline.resolve())
    print()
    print(
        "| engine | build | append p50 | append p99 | samples | disk floor p50 / p99 "
        "| open + list open tasks | tasks listed | peak RSS | close | on disk |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for engine, built, m, size in rows:
        close = f"{m['close_s']:.2f} s" if "close_s" in m else "—"
        print(
            f"| {engine} | {built['build_s']:.0f} s | {_ms(m['p50_ms'])} | {_ms(m['p99_ms'])} "
            f"| {m['samples']} | {m['floor_p50_ms']:.3f} / {m['floor_p99_ms']:.3f} ms "
            f"| {m['open_list_s']:.2f} s | {m['listed']:,} | {m['rss_peak_mb']:.0f} MB "
            f"| {close} | {size:.0f} MB |"
        )
    print(
        "\n(disk floor: appending 600 bytes to a file and fdatasync'ing it, once before "
        "each append, so both see the same disk)\n"
    )
    print("| desk session | notes | notes/s | worst event-loop lag | close after the session |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for engine, s in sessions.items():
        print(
            f"| {engine} | {s['notes']:,} | {s['notes_per_s']:.0f} | {s['loop_lag_ms']:.0f} ms "
            f"| {s['close_s']:.2f} s |"
        )
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
