"""What a report costs on a large history, and what the live board adds to ingest.

A seeded SQLite store of 100,000 tasks / about 1,000,000 events over 30 days
(five channel kinds, 50 agents: assignments, replies, notes, pending periods,
closes, reopens, transfers between teams, and the agents' presence and focus),
built once and kept under the temp directory, keyed by size. Then, in one run:

- **report**: what ``agentdesk report --since 30d`` computes (``collect``:
  every event through the metrics fold; ``summarize`` by channel; each agent's
  time), in calendar time and in business hours (09:00-18:00 Monday to Friday,
  Europe/Paris), beside a straightforward scan of the same store: every event
  read into a list, grouped by task, each task's first response time by plain
  loops (what reading costs, against reading and folding);
- **live**: single inbound messages, each a new customer and task, ingested
  through the desk without live metrics and with them (``desk.live``), on the
  in-memory store and on a new SQLite store, in alternating rounds;
- **board**: the lead's ``GetBoard`` with the whole history folded into the
  live metrics (``LiveMetrics.from_store``), as a console asks it every second.

    .venv/bin/python bench/report_bench.py                        # 100k tasks
    .venv/bin/python bench/report_bench.py --tasks 10000 --messages 500
    .venv/bin/python bench/report_bench.py --part report          # one part
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentdesk.api import Actor, ChannelStatus
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.core.desk import Desk
from agentdesk.domain import (
    Activity,
    ActivityKind,
    Assignment,
    CallRecord,
    Customer,
    Direction,
    Event,
    Identity,
    Message,
    Note,
    Status,
    StatusChange,
    Task,
    Transfer,
)
from agentdesk.metrics import ALWAYS, BusinessCalendar, GroupBy, is_agent, summarize
from agentdesk.metrics.history import collect
from agentdesk.metrics.live import LiveMetrics
from agentdesk.metrics.report import build_report
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store import Batch, Store
from agentdesk.store.memory import MemoryStore
from agentdesk.store.sqlite_store import SqliteStore

PARIS = ZoneInfo("Europe/Paris")
#: Monday 30 November 2026, 16:00 in Paris: the end of the history, "now".
NOW = datetime.datetime(2026, 11, 30, 16, tzinfo=PARIS).timestamp()
#: The report's period begins at midnight 30 days before (no clock change between).
SINCE = datetime.datetime(2026, 10, 31, tzinfo=PARIS).timestamp()
DAY = 86_400.0
OFFICE = BusinessCalendar(timezone="Europe/Paris", hours=(((540, 1080),),) * 5 + ((), ()))
# (channel name, kind, share of the tasks, how slow its conversations are)
CHANNELS = [("chat", "chat", 0.35, 1.0), ("mail", "email", 0.30, 20.0),
            ("social", "social", 0.15, 4.0), ("sms", "sms", 0.10, 4.0),
            ("tel", "phone", 0.10, 2.0)]  # fmt: skip
AGENTS = [f"a{n}" for n in range(50)]
TEAMS = ["support", "billing", "tech"]
WORDS = ["order", "refund", "invoice", "delivery", "login", "password", "broken", "charged"]
IN, OUT = Direction.INBOUND, Direction.OUTBOUND
PRESENCE, FOCUS = ActivityKind.PRESENCE, ActivityKind.FOCUS
Assigned = dict[str, list[tuple[float, str, str]]]
VERSION = 3  # of the data: a store cached by an older version is built again


class Cut(Exception):
    """The task's story went past now: it stops there (still open or pending)."""


class Timeline:
    """One task's events in time order, with the task's state as they leave it."""

    def __init__(self, rng: random.Random, task_id: str, customer_id: str, at: float) -> None:
        self.rng, self.task_id, self.customer_id, self.at = rng, task_id, customer_id, at
        self.channel, self.kind, _, self.slow = rng.choices(CHANNELS, [c[2] for c in CHANNELS])[0]
        self.events: list[Event] = []
        self.status, self.assignee = "open", ""
        self.team: str | None = None
        self.closed_at: float | None = None
        self.assigned: list[tuple[str, float]] = []

    def add(self, cls: type[Event], mean: float, actor: str, **fields: Any) -> None:
        at = self.at + self.rng.expovariate(1 / (mean * self.slow)) if self.events else self.at
        if at >= NOW:
            raise Cut
        self.at, event_id = at, f"{self.task_id}-{len(self.events):02d}"
        ids = {"id": event_id, "task_id": self.task_id, "customer_id": self.customer_id}
        self.events.append(cls(**ids, at=at, actor=actor, **fields))

    def message(self, mean: float, inbound: bool = True) -> None:
        """The customer writes (a phone task begins with a voicemail), or the agent replies."""
        if inbound and self.kind == "phone" and not self.events:
            self.add(CallRecord, mean, "customer", direction=Direction.INBOUND, channel="tel")
            return
        fields = {"channel": self.channel, "channel_kind": self.kind}
        if inbound:
            text = " ".join(self.rng.choices(WORDS, k=self.rng.randint(4, 16)))
            key = f"{self.task_id}-{len(self.events)}"
            self.add(Message, mean, "customer", **fields, direction=IN, text=text, external_id=key)
        else:
            self.add(Message, mean, self.assignee, **fields, direction=OUT, text="On it, thanks.")

    def set_status(self, mean: float, new: str, actor: str) -> None:
        self.add(StatusChange, mean, actor, old=self.status, new=new)
        self.status = new
        self.closed_at = self.at if new == "closed" else self.closed_at

    def assign(self, mean: float, agent: str, team: str | None = None) -> None:
        if team is None:
            self.add(Assignment, mean, "system", old_assignee=None, new_assignee=agent)
        else:
            self.add(Transfer, mean, "lead", new_assignee=agent, new_team=team)
            self.team = team
        self.assignee = agent
        self.assigned.append((agent, self.at))

    def story(self) -> None:
        """About ten events: contact, assignment, replies, maybe a note, a pending
        period, a transfer, a close, a reopen."""
        rng = self.rng
        self.message(0)
        self.assign(600, rng.choice(AGENTS))
        if rng.random() < 0.1:
            self.assign(300, rng.choice(AGENTS), team=rng.choice(TEAMS))
        self.message(120, inbound=False)
        for n in range(rng.randint(0, 5)):
            self.message(300)
            if n == 0 and rng.random() < 0.3:
                self.add(Note, 60, self.assignee, text="checked the order history")
            self.message(180, inbound=False)
            if n == 0 and rng.random() < 0.2:
                self.set_status(60, "pending", self.assignee)
                self.message(3600)
                self.set_status(1, "open", "system")
        self.set_status(600, "closed", self.assignee)
        if rng.random() < 0.08:
            self.message(7200)
            self.set_status(1, "open", "customer")
            self.message(300, inbound=False)
            self.set_status(600, "closed", self.assignee)


def history(
    tasks: int, seed: int, assigned: Assigned
) -> Iterator[tuple[list[Customer], Task, list[Event]]]:
    """Tasks in creation order with their events and, the first time, their
    customer; ``assigned`` receives (at, task id, kind) for each agent given one."""
    rng = random.Random(seed)
    # Contacts come in office hours mostly: a day, then an hour around 13:00 in Paris.
    starts: list[float] = []
    while len(starts) < tasks:
        at = SINCE + rng.randrange(31) * DAY + min(max(rng.gauss(13, 3.5), 0), 23.99) * 3600
        starts += [at] if at < NOW else []
    starts.sort()
    seen: set[int] = set()
    for number, at in enumerate(starts, 1001):
        c = rng.randrange(max(1, tasks * 2 // 5))
        line = Timeline(rng, f"T{number:08d}", f"C{c:07d}", at)
        with contextlib.suppress(Cut):
            line.story()
        new = []
        if c not in seen:
            email = [Identity.of("email", f"c{c}@example.com")]
            new = [Customer(id=line.customer_id, name=f"C {c}", identities=email, created_at=at)]
        seen.add(c)
        for agent, when in line.assigned:
            assigned[agent].append((when, line.task_id, line.kind))
        task = Task(id=line.task_id, number=number, customer_id=line.customer_id,
                    status=Status(line.status), channel=line.channel, channel_kind=line.kind,
                    assignee=line.assignee or None, team=line.team, created_at=at,
                    updated_at=line.at, closed_at=line.closed_at)  # fmt: skip
        yield new, task, line.events


def activity(rng: random.Random, assigned: Assigned) -> list[Activity]:
    """Each agent's shifts (weekdays; one in five also weekends): online, away
    for lunch, offline, and the task on screen changing every few minutes."""
    out: list[Activity] = []
    for n, agent in enumerate(AGENTS):
        tasks = sorted(assigned.get(agent, []))
        for d in range(31):
            day = datetime.datetime.fromtimestamp(SINCE + d * DAY, PARIS).date()
            base = datetime.datetime.combine(day, datetime.time(), PARIS).timestamp()
            if day.weekday() >= 5 and n % 5:
                continue
            on, off = base + rng.uniform(8, 9.5) * 3600, base + rng.uniform(17, 18.5) * 3600
            lunch = base + rng.uniform(12, 13) * 3600
            shift = [(on, "online"), (lunch, "away"), (lunch + 2700, "online"), (off, "offline")]
            records = [Activity(agent=agent, at=at, kind=PRESENCE, value=v) for at, v in shift]
            held = [t for t in tasks if base <= t[0] < base + DAY] or [(0.0, "", "")]
            at = on
            while (at := at + rng.uniform(120, 900)) < off:
                if not lunch <= at < lunch + 2700:
                    _, task_id, kind = rng.choice(held)
                    records.append(
                        Activity(agent=agent, at=at, kind=FOCUS, value=task_id, channel=kind)
                    )
            out.extend(r for r in sorted(records, key=lambda r: r.at) if r.at < NOW)
    return out


def build(path: Path, tasks: int, seed: int = 7) -> dict[str, Any]:
    """Write the history into a new store at ``path``: batches of about 2,000
    events, 25 of them per transaction, then the agents' activity."""
    started = time.perf_counter()
    store = SqliteStore.open(path)
    assigned: Assigned = defaultdict(list)
    made = {"tasks": 0, "events": 0}
    batches = [Batch()]
    for customers, task, events in history(tasks, seed, assigned):
        batches[-1].customers.extend(customers)
        batches[-1].tasks.append(task)
        batches[-1].events.extend(events)
        made["tasks"] += 1
        made["events"] += len(events)
        if len(batches[-1].events) >= 2000:
            batches.append(Batch())
        if len(batches) > 25:
            with store.group() as g:
                for batch in batches[:-1]:
                    g.apply(batch)
            batches = batches[-1:]
    records = activity(random.Random(seed), assigned)
    batches += [Batch(activity=records[i : i + 5000]) for i in range(0, len(records), 5000)]
    with store.group() as g:
        for batch in batches:
            g.apply(batch)
    store.close()
    return {**made, "activity": len(records), "seconds": time.perf_counter() - started}


def cached_store(tasks: int) -> tuple[Path, dict[str, Any]]:
    root = Path(tempfile.gettempdir()) / "agentdesk-report-bench" / f"{tasks}-v{VERSION}"
    marker = root / "built.json"
    if marker.exists():
        return root / "store", {**json.loads(marker.read_text()), "cached": True}
    shutil.rmtree(root, ignore_errors=True)
    made = build(root / "store", tasks)
    marker.write_text(json.dumps(made))
    return root / "store", {**made, "cached": False}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


# --- report ----------------------------------------------------------------------


def full_report(store: Store, calendar: BusinessCalendar) -> dict[str, float]:
    """``agentdesk report --since 30d --by channel`` without its rendering."""
    zone = ZoneInfo(calendar.timezone)
    read_fold, got = timed(lambda: collect(store, calendar, until=NOW, activity_since=SINCE))
    by_channel = partial(summarize, got.measures, GroupBy.CHANNEL, since=SINCE, until=NOW)
    return {
        "read + fold (collect)": read_fold,
        "summarize by channel": timed(lambda: by_channel(zone=zone))[0],
        "agent times": timed(lambda: got.agent_times(SINCE, NOW))[0],
    }


def straightforward_scan(store: Store) -> dict[str, float]:
    """Every event read (nothing kept: the floor of any pass), then into a list,
    grouped by task, first response by plain loops."""
    alone = timed(lambda: sum(1 for _ in store.iter_events()))[0]
    read, events = timed(lambda: list(store.iter_events()))
    started = time.perf_counter()
    by_task: dict[str, list[Event]] = {}
    for event in events:
        by_task.setdefault(event.task_id, []).append(event)
    firsts = []
    for task_events in by_task.values():
        for event in task_events:
            if isinstance(event, Message) and event.direction == OUT and is_agent(event.actor):
                firsts.append(event.at - task_events[0].at)
                break
    took = time.perf_counter() - started
    return {"read, nothing kept": alone, "read into a list": read, "group + first response": took}


ROWS = ["read, nothing kept", "read into a list", "read + fold (collect)",
        "  fold alone (collect - read)", "group + first response", "summarize by channel",
        "agent times", "total"]  # fmt: skip


def report_part(path: Path, events: int, runs: int) -> None:
    with (path / "agentdesk.sqlite").open("rb") as f:  # in the page cache for every figure
        while f.read(1 << 24):
            pass
    store = SqliteStore.open(path, read_only=True)
    got: dict[str, list[dict[str, float]]] = defaultdict(list)
    for _ in range(runs):
        got["scan"].append(straightforward_scan(store))
        got["calendar"].append(full_report(store, ALWAYS))
        got["business"].append(full_report(store, OFFICE))
    store.close()
    med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in got.items()}
    for m in med.values():
        m["total"] = sum(m.values())
    med["scan"]["total"] -= med["scan"]["read, nothing kept"]  # the scan's own pass is the list
    read = med["scan"]["read, nothing kept"]
    for kind in ("calendar", "business"):
        med[kind]["  fold alone (collect - read)"] = med[kind]["read + fold (collect)"] - read
    print(f"\nreport over 30 days and 16 hours, {events:,} events (median of {runs}), seconds:")
    print(f"{'':34}" + "".join(f"{k:>10}" for k in med))
    for label in ROWS:
        cells = (f"{m[label]:10.2f}" if label in m else f"{'-':>10}" for m in med.values())
        print(f"{label:34}" + "".join(cells))
    print(f"{'events/s':34}" + "".join(f"{events / m['total']:10,.0f}" for m in med.values()))
    scan = med["scan"]["total"]
    print(f"{'total / scan':34}" + "".join(f"{m['total'] / scan:9.2f}x" for m in med.values()))
    print("budget: full report <= 3 s at 1M events")


# --- live metrics on ingest, and the board ------------------------------------------


def chat_desk(store: Store, clock: Callable[[], float] = time.time) -> Desk:
    desk = Desk(store, clock=clock, calendar=OFFICE)
    caps = Capabilities(kind="chat", identity_kind="chat", realtime=True)
    desk.register_channel(ChannelStatus("chat", "test", caps, HealthState.UP))
    return desk


async def live_part(messages: int, rounds: int) -> None:
    """Each desk ingests ``messages`` new-task messages one after another, the
    four desks taking turns round by round; each ingest timed on its own."""
    applied: dict[str, float] = defaultdict(float)
    desks: dict[str, Desk] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("memory, absent", "memory, present", "sqlite, absent", "sqlite, present"):
            engine, live = label.split(", ")
            store = MemoryStore() if engine == "memory" else SqliteStore.open(Path(tmp) / live)
            desk = desks[label] = chat_desk(store)
            if live == "present":
                metrics, apply = await desk.live_metrics(), desk.live.apply  # type: ignore[union-attr]

                def timed_apply(*args: Any, _apply: Any = apply, _label: str = label) -> Any:
                    started = time.perf_counter()
                    out = _apply(*args)
                    applied[_label] += time.perf_counter() - started
                    return out

                metrics.apply = timed_apply  # type: ignore[method-assign,assignment]
        spent: dict[str, list[float]] = defaultdict(list)
        size = max(1, messages // rounds)
        for r in range(-1, rounds):  # round -1 warms every desk up, untimed
            for label in list(desks) if r % 2 else list(reversed(desks)):
                for n in range(size if r >= 0 else 50):
                    who = f"visitor-{r}-{n}"
                    item = InboundMessage(who, f"hello, about my order {n}", external_id=who)
                    started = time.perf_counter()
                    await desks[label].ingest("chat", item)
                    spent[label].append((time.perf_counter() - started) * 1e3)
        for desk in desks.values():
            await desk.read(desk.store.close)
            desk.close()
    print(f"\ningest, {size * rounds:,} new-task messages per desk in {rounds} rounds, ms each:")
    print(f"{'':10}{'p50 absent':>12}{'present':>10}{'ratio':>8}{'mean absent':>13}"
          f"{'present':>10}{'ratio':>8}{'apply alone':>13}{'of absent':>11}")  # fmt: skip
    for engine in ("memory", "sqlite"):
        off, on = (spent[f"{engine}, {live}"][50:] for live in ("absent", "present"))
        p50, mean = [(f(off), f(on)) for f in (statistics.median, statistics.fmean)]
        alone = applied[f"{engine}, present"] / len(spent[f"{engine}, present"]) * 1e3
        cells = f"{p50[0]:12.3f}{p50[1]:10.3f}{p50[1] / p50[0]:7.2f}x{mean[0]:13.3f}{mean[1]:10.3f}"
        print(f"{engine:10}{cells}{mean[1] / mean[0]:7.2f}x{alone:13.3f}{alone / mean[0]:10.1%}")
    print("budget: live metrics add <= 10% to ingest")


async def board_part(path: Path, boards: int) -> None:
    store = SqliteStore.open(path, read_only=True)
    desk = chat_desk(MemoryStore(), clock=lambda: NOW)
    for n, name in enumerate(AGENTS):
        teams = (TEAMS[n % 3],)
        await desk.handle(
            Actor.embedded("admin"), rq.AddAgent(name=name, teams=teams, capacity={"chat": 3})
        )
    built, desk.live = timed(lambda: LiveMetrics.from_store(store, OFFICE, NOW))
    store.close()
    for name in AGENTS[:40]:
        desk.set_presence(name, Presence.ONLINE)
    await desk.activity.drain()
    times = []
    for _ in range(boards + 1):
        started = time.perf_counter()
        board = await desk.handle(Actor.embedded("lead"), rq.GetBoard())
        times.append((time.perf_counter() - started) * 1e3)
    received = sum(c.received for c in board.channels)
    waiting = sum(c.waiting for c in board.channels)
    folded = len(desk.live.folds)
    print(f"\nboard, the history folded in ({folded:,} tasks) in {built:.2f} s (from_store)")
    print(f"today: {received:,} received, {waiting:,} waiting, {len(board.agents)} agents")
    rest = f"p50 {statistics.median(times[1:]):.1f} ms, max {max(times[1:]):.1f} ms"
    print(f"GetBoard: first {times[0]:.1f} ms (prunes to the day), then {rest} over {boards}")
    desk.close()


async def held_part(path: Path, runs: int) -> None:
    """The same 30-day report from what a hub holds (its live figures, built
    at start) beside the full pass over the store, in one run."""
    store = SqliteStore.open(path, read_only=True)
    desk = chat_desk(MemoryStore(), clock=lambda: NOW)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    built, desk.live = timed(lambda: LiveMetrics.from_store(store, OFFICE, NOW))
    held_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss
    asked = rq.GetReport(since=SINCE, until=NOW, by="channel")
    lead = Actor.embedded("lead")
    held: list[float] = []
    full: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await desk.handle(lead, asked)
        held.append(time.perf_counter() - started)
        took, passed = timed(
            lambda: build_report(store, OFFICE, GroupBy.CHANNEL, since=SINCE, until=NOW)
        )
        full.append(took)
    store.close()
    assert answer == passed, "the held report and the full pass disagree"
    measures = len(desk.live.earlier.measures) + len(desk.live.measures)
    fast, slow = statistics.median(held), statistics.median(full)
    print(f"\nheld by a hub: {measures:,} measures, from_store {built:.2f} s, +{held_mb:.0f} MB")
    print(f"report over 30 days, business hours (median of {runs}), seconds:")
    print(f"  from what the hub holds (GetReport)  {fast:6.2f}")
    print(f"  full pass over the store              {slow:6.2f}")
    print(f"  ratio                                 {slow / fast:6.1f}x")
    print("budget: full report <= 3 s at 1M events")
    desk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="report passes of each kind")
    parser.add_argument("--messages", type=int, default=2_000, help="ingested per desk")
    parser.add_argument("--rounds", type=int, default=20, help="turns the desks take")
    parser.add_argument("--boards", type=int, default=20)
    parser.add_argument("--part", choices=["all", "report", "live", "board", "held"], default="all")
    args = parser.parse_args()
    path, made = cached_store(args.tasks)
    how = "cached" if made["cached"] else "built now"
    print(f"store: {made['tasks']:,} tasks, {made['events']:,} events, {made['activity']:,}"
          f" activity records ({how}, build {made['seconds']:.1f} s) at {path}")  # fmt: skip
    if args.part in ("all", "report"):
        report_part(path, made["events"], args.runs)
    if args.part in ("all", "live"):
        asyncio.run(live_part(args.messages, args.rounds))
    if args.part in ("all", "board"):
        asyncio.run(board_part(path, args.boards))
    if args.part in ("all", "held"):
        asyncio.run(held_part(path, args.runs))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
