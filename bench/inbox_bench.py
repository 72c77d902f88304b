"""Inbox benchmark: the console's virtual inbox against Textual's stock DataTable.

    python bench/inbox_bench.py                       # 100, 10k and 100k tasks
    python bench/inbox_bench.py --sizes 100,10000 --presses 30

For each size, in one run and with the same rows, both widgets are mounted in a
headless 160×48 app:

* first paint: from handing the widget its tasks (the inbox indexes them; the
  DataTable adds its rows) until the screen has drawn its first screenful;
* all rows: until every row is reachable (the inbox sorts a big snapshot in a
  worker thread after its first paint; the DataTable has them at first paint);
* key press: CPU time the app spends on one cursor-down key press, including
  the repaint (median over ``--presses`` presses, from the top of the list).

The inbox must paint 100k tasks in ≤ 0.1 s and cost the same per key press at
100 and 100k tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable

from textual.app import App
from textual.widget import Widget
from textual.widgets import DataTable

from agentdesk.domain import Priority, Status, Task
from agentdesk.tui.inbox_index import InboxIndex
from agentdesk.tui.labels import PRIORITY_LABELS, channel_badge, format_wait
from agentdesk.tui.widgets.inbox import InboxList

NOW = 1_790_000_000.0
KINDS = ["email", "chat", "sms", "social", "phone"]
FIRST = ["Ana", "Bo", "Cyrus", "Dee", "Émile", "Farah", "Goran", "Hana", "Ivo", "Jun"]
LAST = ["García", "Chen", "Adeyemi", "Okafor", "Martin", "Haddad", "Novak", "Sato"]
WORDS = [
    *("refund", "order", "broken", "delivery", "invoice"),
    *("password", "account", "label", "late", "missing"),
]


def make_tasks(count: int, seed: int = 7) -> list[Task]:
    rng = random.Random(seed)
    tasks = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        created = NOW - rng.random() * 86400 * 3
        waiting = created if rng.random() < 0.7 else None
        tasks.append(
            Task(
                id=f"T{n:09d}",
                number=1000 + n,
                customer_id=f"C{n}",
                customer_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                status=Status.OPEN if rng.random() < 0.8 else Status.PENDING,
                channel=f"sim-{kind}",
                channel_kind=kind,
                subject=" ".join(rng.choice(WORDS) for _ in range(4)),
                priority=rng.choice(list(Priority)),
                assignee=rng.choice([None, None, "ana", "ben"]),
                created_at=created,
                updated_at=created,
                waiting_since=waiting,
                unread=rng.random() < 0.3,
            )
        )
    return tasks


def table_rows(tasks: list[Task]) -> list[tuple[str, ...]]:
    return [
        (
            "●" if t.unread else "",
            channel_badge(t.channel_kind),
            f"#{t.number}",
            t.customer_name,
            t.subject,
            t.status.value,
            PRIORITY_LABELS[t.priority],
            t.assignee or "—",
            format_wait(NOW - t.waiting_since) if t.waiting_since else "",
        )
        for t in tasks
    ]


class Bench(App[None]):
    """An empty headless app the widgets are mounted into."""


async def measure(make: Callable[[], Widget], fill: Callable[[Widget], None], presses: int):
    """(first paint, every row ready, median key press CPU), in seconds, for one widget."""
    app = Bench()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        widget = make()
        started = time.perf_counter()
        await app.mount(widget)
        fill(widget)
        widget.focus()
        # Draw the screen now, as the app does on its next refresh.
        app.screen._compositor.render_update(full=True)
        first_paint = time.perf_counter() - started
        if isinstance(widget, InboxList):
            while not widget.index.complete:
                await asyncio.sleep(0.05)  # idle, as a person reading the first rows
        complete = time.perf_counter() - started
        costs = []
        for _ in range(presses):
            cpu = time.process_time()
            await pilot.press("down")
            costs.append(time.process_time() - cpu)
        return first_paint, complete, statistics.median(costs)


def inbox_widget(tasks: list[Task]):
    def make() -> Widget:
        return InboxList(InboxIndex("ana"), clock=lambda: NOW, id="inbox")

    def fill(widget: Widget) -> None:
        assert isinstance(widget, InboxList)
        widget.load(tasks)

    return make, fill


def table_widget(tasks: list[Task]):
    rows = table_rows(tasks)

    def make() -> Widget:
        table: DataTable[str] = DataTable(cursor_type="row")
        table.add_columns("", "ch", "#", "customer", "subject", "status", "prio", "owner", "wait")
        return table

    def fill(widget: Widget) -> None:
        assert isinstance(widget, DataTable)
        widget.add_rows(rows)

    return make, fill


async def run(sizes: list[int], presses: int, skip_table_over: int) -> None:
    print(f"{'tasks':>8}  {'widget':<10} {'first paint':>12} {'all rows':>12} {'key press':>10}")
    for size in sizes:
        tasks = make_tasks(size)
        for name, widget in (("inbox", inbox_widget), ("DataTable", table_widget)):
            if name == "DataTable" and size > skip_table_over:
                print(f"{size:>8}  {name:<10} {'skipped':>12}")
                continue
            paint, complete, press = await measure(*widget(tasks), presses)
            print(
                f"{size:>8}  {name:<10} {paint * 1000:>9.1f} ms {complete * 1000:>9.1f} ms"
                f" {press * 1000:>7.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument(
        "--skip-table-over", type=int, default=10**9, help="leave out DataTable above this size"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    asyncio.run(run(sizes, args.presses, args.skip_table_over))


if __name__ == "__main__":
    main()
