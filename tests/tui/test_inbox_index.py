"""The inbox index: views, sort orders, and live changes one task at a time."""

from __future__ import annotations

import random

from agentdesk.domain import Priority, Status, Task
from agentdesk.domain.evolve import evolve as replace
from agentdesk.tui.inbox_index import InboxIndex, InboxView, Scope, SortOrder, StatusFilter


def task(n: int, **changes) -> Task:
    base = Task(
        id=f"T{n:05d}",
        number=n,
        customer_id=f"C{n}",
        customer_name=f"Customer {n}",
        channel="mail" if n % 2 else "sms",
        channel_kind="email" if n % 2 else "sms",
        created_at=1000.0 + n,
        updated_at=1000.0 + n,
        waiting_since=1000.0 + n,
    )
    return replace(base, **changes)


def ids(index: InboxIndex) -> list[int]:
    return [index.task_at(row).number for row in range(len(index))]


def test_longest_waiting_first_then_the_rest_by_recent_activity():
    index = InboxIndex("ana")
    index.load(
        [
            task(1, waiting_since=None, updated_at=5000),
            task(2, waiting_since=300),
            task(3, waiting_since=100),
            task(4, waiting_since=None, updated_at=6000),
        ]
    )
    assert ids(index) == [3, 2, 4, 1]


def test_newest_and_priority_orders():
    tasks = [
        task(1, priority=Priority.LOW),
        task(2, priority=Priority.URGENT),
        task(3, priority=Priority.HIGH, waiting_since=50),
        task(4, priority=Priority.HIGH, waiting_since=10),
    ]
    index = InboxIndex("ana", InboxView(sort=SortOrder.NEWEST))
    index.load(tasks)
    assert ids(index) == [4, 3, 2, 1]
    index.set_view(InboxView(sort=SortOrder.PRIORITY))
    assert ids(index) == [2, 4, 3, 1]


def test_views_by_owner_channel_and_status():
    tasks = [
        task(1, assignee="ana"),
        task(2, assignee="ben"),
        task(3),
        task(4, status=Status.PENDING, assignee="ana"),
        task(5, status=Status.CLOSED),
    ]
    index = InboxIndex("ana")
    index.load(tasks)
    assert sorted(ids(index)) == [1, 2, 3, 4]
    index.set_view(InboxView(scope=Scope.MINE))
    assert sorted(ids(index)) == [1, 4]
    index.set_view(InboxView(scope=Scope.UNASSIGNED))
    assert ids(index) == [3]
    index.set_view(InboxView(channel="sms"))
    assert sorted(ids(index)) == [2, 4]
    index.set_view(InboxView(status=StatusFilter.PENDING))
    assert ids(index) == [4]
    index.set_view(InboxView(status=StatusFilter.CLOSED))
    assert ids(index) == [5]


def test_upsert_moves_inserts_and_drops_rows():
    index = InboxIndex("ana")
    index.load([task(n) for n in range(1, 6)])
    index.upsert(task(3, waiting_since=1.0))  # now the longest waiting
    assert ids(index)[0] == 3
    index.upsert(task(4, status=Status.CLOSED))  # leaves the open+pending view
    assert 4 not in ids(index) and index.row_of("T00004") is None
    index.upsert(task(9, waiting_since=2.0))
    assert ids(index)[:2] == [3, 9]
    assert index.row_of("T00009") == 1
    assert index.revision("T00003") == 1  # changed once since the load


def test_incremental_changes_match_a_full_sort():
    rng = random.Random(7)
    tasks = {n: task(n, waiting_since=rng.choice([None, rng.random() * 1000])) for n in range(300)}
    index = InboxIndex("ana")
    index.load(tasks.values())
    for _ in range(500):
        n = rng.randrange(400)
        changed = task(
            n,
            waiting_since=rng.choice([None, rng.random() * 1000]),
            status=rng.choice(list(Status)),
            assignee=rng.choice([None, "ana", "ben"]),
        )
        tasks[n] = changed
        index.upsert(changed)
    fresh = InboxIndex("ana")
    fresh.load(tasks.values())
    assert ids(index) == ids(fresh)
    for row in range(len(index)):
        assert index.row_of(index.id_at(row)) == row


def test_big_batches_rebuild_to_the_same_order():
    index = InboxIndex("ana")
    index.load([task(n) for n in range(10)])
    index.upsert_many([task(n, waiting_since=10_000.0 - n) for n in range(3000)])
    assert ids(index)[:3] == [2999, 2998, 2997]
    assert len(index) == 3000


def test_view_title():
    view = InboxView(scope=Scope.MINE, channel="sms", status=StatusFilter.OPEN)
    assert view.describe() == "Mine · sms · open · longest waiting"


def test_a_previewed_snapshot_completes_with_the_changes_made_meanwhile():
    from agentdesk.tui.inbox_index import build_index

    tasks = [task(n) for n in range(300)]
    index = InboxIndex("ana")
    index.preview(tasks, 20)
    assert not index.complete and len(index) == 20 and index.known() == 300
    assert ids(index) == list(range(20))  # the 20 longest waiting, in order
    built = build_index(tasks, index.view, "ana")
    index.upsert(task(150, waiting_since=1.0))  # arrives while the sort runs
    assert index.install(built)
    assert index.complete and len(index) == 300
    assert ids(index)[0] == 150


def test_a_view_change_while_sorting_sorts_for_the_new_view():
    from agentdesk.tui.inbox_index import build_index

    tasks = [task(n, assignee="ana" if n % 3 == 0 else None) for n in range(90)]
    index = InboxIndex("ana")
    index.preview(tasks, 10)
    built = build_index(tasks, index.view, "ana")
    index.set_view(InboxView(scope=Scope.MINE))
    assert index.complete and len(index) == 30
    assert not index.install(built)  # built for the old view: refused
    assert len(index) == 30


async def test_the_inbox_paints_a_preview_then_sorts_in_a_worker():
    from textual.app import App

    from agentdesk.tui.widgets.inbox import InboxList

    tasks = [task(n, waiting_since=5000.0 - n) for n in range(200)]
    inbox = InboxList(InboxIndex("ana"), clock=lambda: 6000.0, sort_at_once=50, preview_rows=10)
    app = App()
    async with app.run_test(size=(100, 20)) as pilot:
        await app.mount(inbox)
        inbox.load(tasks)
        assert len(inbox.index) == 10 and not inbox.index.complete
        assert inbox.cursor_id == "T00199"  # the longest waiting, selected at once
        for _ in range(100):
            if inbox.index.complete:
                break
            await pilot.pause()
        assert inbox.index.complete and len(inbox.index) == 200
        assert inbox.cursor_id == "T00199"
        assert inbox.rows_built > 0


async def test_inbox_keys_move_by_row_page_and_end():
    from textual.app import App

    from agentdesk.tui.widgets.inbox import InboxList

    tasks = [task(n, waiting_since=1000.0 + n) for n in range(100)]
    inbox = InboxList(InboxIndex("ana"), clock=lambda: 6000.0)
    app = App()
    async with app.run_test(size=(120, 12)) as pilot:
        await app.mount(inbox)
        inbox.load(tasks)
        inbox.focus()
        await pilot.pause()
        rows = lambda: inbox.index.row_of(inbox.cursor_id)  # noqa: E731
        await pilot.press("j", "j", "down")
        assert rows() == 3
        await pilot.press("k")
        assert rows() == 2
        await pilot.press("pagedown")
        assert rows() == 2 + inbox._page()
        await pilot.press("G")
        assert rows() == 99 and inbox.scroll_y > 0
        await pilot.press("g")
        assert rows() == 0 and inbox.scroll_y == 0
