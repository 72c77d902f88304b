"""The data the store benchmarks run on: a seeded helpdesk of any size.

``generate`` yields tasks in creation order with their events (and each
customer the first time one appears): 80% of the tasks closed over two
years, open and pending ones from the last 60 days, about ``events / tasks``
events each. ``build`` writes it into a ``SqliteStore`` in large groups (the
bulk path), ``append_samples`` makes new messages on the open tasks.

    python bench/dataset.py PATH --tasks 100000 --events 1000000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
)
from agentdesk.domain.evolve import evolve
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


# --- data ---------------------------------------------------------------------


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
        yield evolve(task, updated_at=at, preview=message.text, unread=True), message


def batches(tasks: int, events: int, size: int = 2_000) -> Iterator[Batch]:
    """The data in batches of about ``size`` events."""
    batch = Batch()
    for customer, task, task_events in generate(tasks, events):
        if customer is not None:
            batch.customers.append(customer)
        batch.tasks.append(task)
        batch.events.extend(task_events)
        if len(batch.events) >= size:
            yield batch
            batch = Batch()
    yield batch


def build(path: Path, tasks: int, events: int) -> float:
    """Write the data into a new ``SqliteStore`` at ``path``; returns the seconds taken."""
    from agentdesk.store.sqlite_store import SqliteStore

    started = time.perf_counter()
    store = SqliteStore.open(path)
    pending = batches(tasks, events)
    while True:
        # One transaction per 25 batches (some 50,000 events).
        group = list(islice(pending, 25))
        if not group:
            break
        with store.group() as writer:
            for batch in group:
                writer.apply(batch)
    store.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    seconds = build(args.path, args.tasks, args.events)
    print(f"built {args.tasks:,} tasks / {args.events:,} events in {seconds:.1f} s")


if __name__ == "__main__":
    main()
