"""Ingest benchmark: simulated channels at full speed into the desk, beside raw websockets.

    .venv/bin/python bench/ingest_bench.py                    # 20,000 messages
    .venv/bin/python bench/ingest_bench.py --messages 5000 --store memory
    .venv/bin/python bench/ingest_bench.py --baseline ../old   # and a previous checkout

Five simulator channels (email, chat, sms, social, phone; ``rate = 0``, so
only the desk's backpressure holds them back) run under the channel runtime
into a desk on a real SQLite store, its search index written in the same
transactions, opened as the console's embedded desk opens it, while a
subscriber reads the update stream as a console would. Reported: sustained
messages per second (first emit until the last message is on the stream,
hence durable and searchable) and the latency of each item from ``emit`` to
the end of its ingest (planning, commit, publication), p50 and p99, and the
event loop's worst lag meanwhile (a 5 ms timer's lateness): what the console
would feel.

``--baseline TREE`` also runs this same benchmark as it stood in another
checkout of the project (``git worktree add ../old <commit>``), in its own
process, and prints its line beside: the store before this one, on the same
machine in the same run.

Beside it, in the same run: a websockets server and client on loopback
exchanging the same number of small JSON messages (throughput), then echoing
single messages one at a time (latency): the ceiling a hub's transport would
put on the same machine. Also shown: the desk on the in-memory store without
a search index, and the channels and pumps alone (a desk whose ingest does
nothing), which locate the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loop_lag import LoopLag
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from agentdesk.core.config import ChannelConfig, Config
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.core.host.channel_runtime import ChannelRuntime, RuntimeSettings
from agentdesk.core.host.collector import settle_after_load
from agentdesk.core.host.discovery import discover
from agentdesk.plugin import TypingSignal

KINDS = ("email", "chat", "sms", "social", "phone")
#: A run with no progress for this long ends with the reason.
STALL_SECONDS = 30.0


@dataclass
class Result:
    label: str
    messages: int
    seconds: float
    latencies: list[float]
    # CPU seconds over the whole run (start-up included): this process, and
    # its children (the index's writer).
    cpu: tuple[float, float] = (0.0, 0.0)
    # The share of the machine's CPU time the host took for others (steal).
    steal: float | None = None
    # The event loop's worst lateness over the run, in seconds.
    loop_lag: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class PlugOnlyDesk(Desk):
    """A desk whose ingest does nothing: what the channels and pumps alone sustain."""

    async def ingest(self, channel: str, item: Any) -> None:
        return None

    async def ingest_many(self, channel: str, items: list[Any]) -> list[None]:
        return [None] * len(items)


def open_desk(kind: str, folder: Path) -> tuple[Desk, list[Any]]:
    settle_after_load()  # as the console's embedded desk does once its store is open
    if kind == "none":
        from agentdesk.store.memory import MemoryStore

        return PlugOnlyDesk(MemoryStore()), []
    if kind == "memory":
        from agentdesk.store.memory import MemoryStore

        return Desk(MemoryStore()), []
    from agentdesk.core.runtime import open_store

    # As the console's embedded desk opens it.
    store = open_store(folder / "store")
    return Desk(store), [store]


def machine_ticks() -> list[int] | None:
    """The machine's CPU time counters (Linux ``/proc/stat``), to tell how much
    of a run the host gave to other machines (steal) or left idle."""
    try:
        with open("/proc/stat") as stat:
            return [int(field) for field in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def share(before: list[int] | None, after: list[int] | None, column: int) -> float | None:
    if before is None or after is None or len(after) <= column:
        return None
    total = sum(after) - sum(before)
    return (after[column] - before[column]) / total if total else None


def cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def desk_ingest(messages: int, store_kind: str, queue_size: int, rate: float = 0.0) -> Result:
    cpu_before = cpu_seconds()
    folder = Path(tempfile.mkdtemp(prefix="agentdesk-ingest-bench-"))
    desk, closers = open_desk(store_kind, folder)
    per_channel = messages // len(KINDS)
    config = Config(
        source="bench",
        store=folder / "store",
        channels=[
            ChannelConfig(
                "simulator",
                f"sim-{kind}",
                {
                    "kind": kind,
                    # Messages a minute for each channel; 0: as fast as the desk takes them.
                    "rate": rate * 60 / len(KINDS),
                    "count": per_channel,
                    "seed": 11,
                    "customers": 5000,
                },
                index,
            )
            for index, kind in enumerate(KINDS)
        ],
    )
    total = per_channel * len(KINDS)
    catalog = discover(entry_points=None)
    runtime = ChannelRuntime(
        desk, config, catalog=catalog, settings=RuntimeSettings(queue_size=queue_size)
    )
    stamps: dict[int, float] = {}
    latencies: list[float] = []
    on_stream = 0
    finished = asyncio.Event()

    async def console() -> None:
        nonlocal on_stream
        async for update in LocalDeskClient(desk, "ana").subscribe(desk.store.seq):
            on_stream += len(update.events)
            if on_stream >= total:
                finished.set()

    first_emit: list[float] = []

    def stamp(pump: Any) -> None:
        put = pump.put

        async def timed_put(item: Any) -> None:
            now = time.perf_counter()
            if not first_emit:
                first_emit.append(now)
            stamps[id(item)] = now
            await put(item)

        def done(item: Any) -> None:
            began = stamps.pop(id(item), None)
            if began is not None and not isinstance(item, TypingSignal):
                latencies.append(time.perf_counter() - began)
                if store_kind == "none" and len(latencies) == total:
                    finished.set()

        pump.put = timed_put
        pump.on_ingested = done

    lag = LoopLag()
    reader = asyncio.create_task(console())
    lag.start()
    await asyncio.sleep(0)
    ticks_before = machine_ticks()
    await runtime.start()
    for pump in runtime.pumps.values():
        stamp(pump)
    # Every run ends: one that stops moving says how far it got, and why it may have.
    last = (-1, -1)
    while not finished.is_set():
        progress = (len(latencies), on_stream)
        if progress == last:
            raise SystemExit(
                f"the run stalled: {on_stream} of {total} messages reached the stream and"
                f" {len(latencies)} were ingested, nothing new for {STALL_SECONDS:.0f} s"
                " (a store that already held these messages takes them as duplicates)"
            )
        last = progress
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), STALL_SECONDS)
    seconds = time.perf_counter() - first_emit[0]
    steal = share(ticks_before, machine_ticks(), 7)
    lag.stop()
    await runtime.stop()
    reader.cancel()
    for closer in closers:
        await desk.read(closer.close)
    desk.close()
    failures = sum(p.counters.rejected + p.counters.failed for p in runtime.pumps.values())
    if failures:
        print(f"warning: {failures} items were refused or failed", file=sys.stderr)
    label = {
        "sqlite": "desk (SQLite store + search index)",
        "memory": "desk (memory store, no index)",
        "none": "channels and pumps only (no desk)",
    }[store_kind]
    cpu_after = cpu_seconds()
    cpu = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
    return Result(label, total, seconds, latencies, cpu, steal, lag.worst)


async def raw_websockets(messages: int, round_trips: int = 1000) -> Result:
    """Throughput: the client sends every message without waiting. Latency: then
    ``round_trips`` single messages, each echoed before the next is sent."""
    received = 0
    finished = asyncio.Event()

    async def handler(websocket: Any) -> None:
        nonlocal received
        async for raw in websocket:
            message = json.loads(raw)
            if message.get("echo"):
                await websocket.send(raw)
                continue
            received += 1
            if received == messages:
                finished.set()

    latencies: list[float] = []
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as websocket:
            began = time.perf_counter()
            for n in range(messages):
                payload = {"identity": f"+3361234{n % 10000:04d}", "text": "Où est mon colis ?"}
                await websocket.send(json.dumps(payload))
            await finished.wait()
            seconds = time.perf_counter() - began
            for _ in range(round_trips):
                sent = time.perf_counter()
                await websocket.send(json.dumps({"echo": True, "text": "Où est mon colis ?"}))
                await websocket.recv()
                latencies.append(time.perf_counter() - sent)
    return Result("raw websockets, loopback", messages, seconds, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument(
        "--store",
        choices=("sqlite", "memory", "none", "all"),
        default="all",
        help="where ingest goes; 'all' runs each in turn (default)",
    )
    parser.add_argument("--queue-size", type=int, default=1000)
    parser.add_argument("--baseline", type=Path, help="another checkout to run beside")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages a second in all (default: full speed)"
    )
    args = parser.parse_args()
    kinds = ("sqlite", "memory", "none") if args.store == "all" else (args.store,)
    results = [
        asyncio.run(desk_ingest(args.messages, k, args.queue_size, args.rate)) for k in kinds
    ]
    desk = results[0]
    raw = asyncio.run(raw_websockets(args.messages))
    baseline = run_baseline(args.baseline, args.messages, args.rate) if args.baseline else []
    if args.baseline and args.rate and not baseline:
        baseline = ["(the baseline checkout's benchmark cannot pace its channels: not run)"]
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    print(f"{'path':38} {'messages':>9} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'loop lag':>9}")
    for result in (*results, raw):
        lag = f"{result.loop_lag * 1000:7.1f}ms" if result is not raw else ""
        print(
            f"{result.label:38} {result.messages:9d} {result.rate:9.0f} "
            f"{result.percentile(0.5):8.2f} {result.percentile(0.99):8.2f} {lag:>9}"
        )
    for line in baseline:
        print(f"{line}   (baseline: {args.baseline})")
    for result in results:
        own, children = (1000 * c / result.messages for c in result.cpu)
        stolen = "" if result.steal is None else f"; the host took {result.steal:.0%} (steal)"
        print(
            f"CPU per message, {result.label}: {own:.2f} ms in the desk's process,"
            f" {children:.2f} ms in the index's writer{stolen}"
        )
    stall = "within" if desk.loop_lag <= 0.05 else "OUTSIDE"
    print(f"budget: no loop stall over 50 ms ({desk.label}): {stall}")
    budget = "within" if desk.rate >= 2000 else "OUTSIDE"
    print(
        f"budget >= 2,000 msg/s ({desk.label}): {budget}, "
        f"{desk.rate / raw.rate:.0%} of raw websockets"
    )


def run_baseline(tree: Path, messages: int, rate: float) -> list[str]:
    """This benchmark as another checkout has it, on its store: its result lines."""
    import subprocess

    tree = tree.resolve()
    script = tree / "bench" / "ingest_bench.py"
    if rate and "--rate" not in script.read_text(encoding="utf-8"):
        return []
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'plugins'}"}
    done = subprocess.run(
        [sys.executable, str(tree / "bench" / "ingest_bench.py"), "--messages", str(messages),
         "--store", "tiny", *(["--rate", str(rate)] if rate else [])],
        capture_output=True, text=True, env=env, cwd=tree, check=True,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line.startswith("desk (")]


if __name__ == "__main__":
    main()
