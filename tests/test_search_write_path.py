"""The index's grouped write path: ``apply_many`` gives what ``apply`` one batch at
a time gives, and what it keeps in memory never disagrees with the file."""

from __future__ import annotations

import dataclasses
import math
import random
import sqlite3
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import pytest

from agentdesk.domain import Customer, Direction, Identity, Message, Status, Task
from agentdesk.search import IndexBehind, SearchIndex, index, txn
from agentdesk.store import Batch
from agentdesk.store.memory import MemoryStore

NOW = 1_790_000_000.0
QUERIES = [
    "",
    "colis",
    "remb*",
    "status:pending",
    "status:closed",
    "from:martin",
    "from:0612",
    "anne",
    "béatrice",
    "assignee:none",
    "sort:oldest",
    "-colis",
    '"mot de passe"',
]


def customer(number: int, name: str, *identities: tuple[str, str]) -> Customer:
    return Customer(
        id=f"C{number:03d}",
        name=name,
        identities=[Identity.of(kind, value) for kind, value in identities],
    )


def task(number: int, owner: Customer, at: float, **changes: object) -> Task:
    base = Task(
        id=f"T{number:04d}",
        number=number,
        customer_id=owner.id,
        customer_name=owner.name,
        channel="mail",
        channel_kind="email",
        subject=f"Demande {number}",
        created_at=NOW,
        updated_at=at,
    )
    return dataclasses.replace(base, **changes)


def message(event_id: str, task_id: str, text: str, at: float) -> Message:
    return Message(
        id=event_id,
        task_id=task_id,
        customer_id="C001",
        at=at,
        direction=Direction.INBOUND,
        channel="mail",
        text=text,
    )


def fresh_index(path: Path) -> SearchIndex:
    """A new empty index, marked complete as a first start leaves it."""
    search_index = SearchIndex.open(path)
    search_index.rebuild(MemoryStore())
    return search_index


def ids(search_index: SearchIndex, query: str) -> list[str]:
    page = search_index.search(query, now=NOW + 10_000, limit=500)
    return [hit.task_id for hit in page.hits]


def answers(search_index: SearchIndex) -> list[list[tuple[tuple[int, float], list[str]]]]:
    """Each query's hits in order; tasks last active in the same millisecond may
    come in either order (the order in which they were written), so they are
    compared as a set."""
    result = []
    for query in QUERIES:
        hits = search_index.search(query, now=NOW + 10_000, limit=500).hits
        runs = groupby(hits, key=lambda hit: (math.floor(hit.last_activity * 1000), hit.score))
        result.append([(key, sorted(hit.task_id for hit in run)) for key, run in runs])
    return result


class Feed:
    """A store and the (seq, batch) pairs it committed, to feed indexes with."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.pairs: list[tuple[int, Batch]] = []

    def commit(self, **parts: object) -> None:
        batch = Batch(**parts)  # type: ignore[arg-type]
        self.pairs.append((self.store.commit(batch), batch))

    def one_by_one(self, path: Path) -> SearchIndex:
        search_index = fresh_index(path)
        for seq, batch in self.pairs:
            search_index.apply(seq, batch, self.store.get_customer)
        return search_index

    def grouped(self, path: Path, sizes: Callable[[], int]) -> SearchIndex:
        search_index = fresh_index(path)
        start = 0
        while start < len(self.pairs):
            end = start + sizes()
            search_index.apply_many(self.pairs[start:end], self.store.get_customer)
            start = end
        return search_index


def random_history(seed: int, batches: int = 160) -> Feed:
    """Customers, tasks and events, then changes to all of them, at random."""
    rng = random.Random(seed)
    words = ["colis", "reçu", "remboursé", "rembourser", "mot", "de", "passe", "merci", "où"]
    feed = Feed()
    customers: dict[str, Customer] = {}
    tasks: dict[str, Task] = {}
    events: dict[str, Message] = {}
    clock = NOW
    for n in range(batches):
        clock += rng.choice([0.0, 0.0004, 1.0, 30.0])
        parts: dict[str, list] = {"customers": [], "tasks": [], "events": []}
        roll = rng.random()
        if not customers or roll < 0.15:
            number = len(customers) + 1
            new = customer(number, rng.choice(["Anne Martin", "Jean Dupont", "Zoé"]))
            new.identities.append(Identity.of("phone", f"+33 6 12 34 {number:02d} {n % 100:02d}"))
            customers[new.id] = new
            parts["customers"].append(new)
        elif roll < 0.3:
            # A customer renamed or given one more identity.
            old = customers[rng.choice(sorted(customers))]
            changed = dataclasses.replace(
                old,
                name=rng.choice([old.name, "Béatrice Martin", "Anne"]),
                identities=[*old.identities, Identity.of("chat", f"session-{n}")],
            )
            customers[changed.id] = changed
            parts["customers"].append(changed)
        owner = customers[rng.choice(sorted(customers))]
        if not tasks or rng.random() < 0.4:
            number = len(tasks) + 1
            current = task(number, owner, clock)
        else:
            current = tasks[rng.choice(sorted(tasks))]
            current = dataclasses.replace(
                current,
                updated_at=clock,
                status=rng.choice(list(Status)),
                assignee=rng.choice([None, "ana"]),
                customer_id=owner.id if rng.random() < 0.2 else current.customer_id,
            )
        tasks[current.id] = current
        parts["tasks"].append(current)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        if events and rng.random() < 0.2:
            # An event put again: its text edited, or moved to another task.
            old_event = events[rng.choice(sorted(events))]
            event = dataclasses.replace(
                old_event,
                text=text if rng.random() < 0.5 else old_event.text,
                task_id=rng.choice(sorted(tasks)),
            )
        else:
            event = message(f"E{n:05d}", current.id, text, clock)
        events[event.id] = event
        parts["events"].append(event)
        feed.commit(**parts)
    return feed


# --- grouped equals one by one ---------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_groups_give_the_same_answers_as_batches_one_by_one(tmp_path: Path, seed: int) -> None:
    feed = random_history(seed)
    rng = random.Random(seed)
    single = feed.one_by_one(tmp_path / "single.db")
    grouped = feed.grouped(tmp_path / "grouped.db", lambda: rng.randint(1, 40))
    assert single.check(feed.store) == []
    assert grouped.check(feed.store) == []
    assert answers(grouped) == answers(single)
    assert grouped.last_seq == single.last_seq == feed.store.seq
    single.close()
    grouped.close()


def test_a_task_changed_several_times_in_a_group_is_indexed_as_it_ends(tmp_path: Path) -> None:
    feed = Feed()
    anne = customer(1, "Anne Martin")
    feed.commit(customers=[anne], tasks=[task(1, anne, NOW, subject="Colis perdu")])
    feed.commit(tasks=[task(1, anne, NOW + 1, subject="Remboursement", status=Status.PENDING)])
    feed.commit(
        tasks=[task(1, anne, NOW + 2, subject="Mot de passe", status=Status.CLOSED)],
        events=[message("E1", "T0001", "merci", NOW + 2)],
    )
    search_index = feed.grouped(tmp_path / "s.db", lambda: 3)
    assert ids(search_index, "status:closed") == ["T0001"]
    assert ids(search_index, "status:pending") == []
    assert ids(search_index, "colis") == []
    assert ids(search_index, '"mot de passe" merci') == ["T0001"]
    assert search_index.check(feed.store) == []
    search_index.close()


def test_a_customer_renamed_in_the_middle_of_a_group(tmp_path: Path) -> None:
    feed = Feed()
    anne = customer(1, "Anne Martin", ("email", "contact@example.fr"))
    feed.commit(customers=[anne], tasks=[task(1, anne, NOW)])
    feed.commit(tasks=[task(2, anne, NOW + 1)])
    renamed = dataclasses.replace(
        anne, name="Béatrice Martin", identities=[*anne.identities, Identity.of("phone", "0612")]
    )
    feed.commit(customers=[renamed], events=[message("E1", "T0001", "bonjour", NOW + 2)])
    feed.commit(tasks=[task(3, renamed, NOW + 3)])
    # The first two batches in one group and committed, the rest in the next.
    search_index = feed.grouped(tmp_path / "s.db", iter([2, 2]).__next__)
    assert ids(search_index, "anne") == []
    assert sorted(ids(search_index, "béatrice")) == ["T0001", "T0002", "T0003"]
    assert sorted(ids(search_index, "from:0612")) == ["T0001", "T0002", "T0003"]
    assert search_index.check(feed.store) == []
    search_index.close()


@pytest.mark.parametrize("sizes", [[3], [1, 2], [2, 1]])
def test_an_event_moved_to_another_task(tmp_path: Path, sizes: list[int]) -> None:
    feed = Feed()
    anne = customer(1, "Anne Martin")
    feed.commit(
        customers=[anne],
        tasks=[task(1, anne, NOW), task(2, anne, NOW + 1)],
        events=[message("E1", "T0001", "colis abîmé", NOW)],
    )
    feed.commit(events=[message("E1", "T0002", "colis abîmé", NOW)])
    feed.commit(events=[message("E1", "T0002", "colis retrouvé", NOW)])
    search_index = feed.grouped(tmp_path / "s.db", iter(sizes).__next__)
    assert ids(search_index, "colis") == ["T0002"]
    assert ids(search_index, "abime") == []
    assert ids(search_index, "retrouvé") == ["T0002"]
    assert search_index.check(feed.store) == []
    search_index.close()


def test_a_gap_in_a_group_is_refused_before_anything_is_applied(tmp_path: Path) -> None:
    feed = random_history(4, batches=6)
    search_index = fresh_index(tmp_path / "s.db")
    search_index.apply_many(feed.pairs[:2], feed.store.get_customer)
    with pytest.raises(IndexBehind):
        search_index.apply_many(feed.pairs[2:3] + feed.pairs[4:], feed.store.get_customer)
    assert search_index.last_seq == 2
    # Batches already held are skipped; the rest goes on from there.
    search_index.apply_many(feed.pairs[1:], feed.store.get_customer)
    assert search_index.check(feed.store) == []
    search_index.close()


# --- failures, rebuilds, reopening --------------------------------------------------------


def test_a_failure_in_a_group_rolls_back_and_catch_up_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keep the write group open so that the failure loses earlier groups too.
    monkeypatch.setattr(txn, "GROUP_SECONDS", 3600.0)
    monkeypatch.setattr(txn, "GROUP_BATCHES", 1_000_000)
    feed = random_history(5, batches=40)
    ghost = Task(id="T9999", number=9999, customer_id="C999", customer_name="X", updated_at=NOW)
    feed.commit(tasks=[ghost], events=[message("E99999", "T9999", "fantôme", NOW)])
    feed.commit(tasks=[task(1, customer(1, "Anne Martin"), NOW + 99_999, subject="Dernier")])

    def failing_lookup(customer_id: str) -> Customer | None:
        if customer_id == "C999":
            raise OSError("the store could not be read")
        return feed.store.get_customer(customer_id)

    search_index = fresh_index(tmp_path / "s.db")
    search_index.apply_many(feed.pairs[:20], feed.store.get_customer)
    search_index.apply_many(feed.pairs[20:40], feed.store.get_customer)
    with pytest.raises(OSError):
        search_index.apply_many(feed.pairs[40:], failing_lookup)
    # Nothing was committed: the file, and the index, hold nothing.
    assert search_index.last_seq == 0
    assert search_index.catch_up(feed.store) == len(feed.pairs)
    assert search_index.check(feed.store) == []
    assert ids(search_index, "fantome") == ["T9999"]
    assert ids(search_index, "dernier") == ["T0001"]
    reference = feed.one_by_one(tmp_path / "reference.db")
    assert answers(search_index) == answers(reference)
    search_index.close()
    reference.close()


def test_a_rebuild_starts_from_what_the_new_file_holds(tmp_path: Path) -> None:
    feed = random_history(6, batches=60)
    search_index = feed.grouped(tmp_path / "s.db", lambda: 7)
    # Another store, with other rows under the same ids.
    other = random_history(7, batches=60)
    search_index.rebuild(other.store)
    assert search_index.check(other.store) == []
    more = other.pairs[-1][1]
    other.commit(customers=more.customers, tasks=more.tasks, events=more.events)
    other.commit(
        tasks=[dataclasses.replace(t, subject="Après reconstruction") for t in more.tasks],
        events=[message("E70000", more.tasks[0].id, "colis reconstruit", NOW + 99_999)],
    )
    search_index.apply_many(other.pairs[-2:], other.store.get_customer)
    assert search_index.check(other.store) == []
    assert ids(search_index, "reconstruit") == [more.tasks[0].id]
    search_index.close()


def crash_copy(path: Path, to: Path) -> None:
    """What a crash would leave of the file: everything committed, nothing else."""
    with sqlite3.connect(path) as source, sqlite3.connect(to) as target:
        source.backup(target)


def test_an_index_reopened_after_a_crash_goes_on_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every group committed, documents left to refresh: as a crash would find them.
    monkeypatch.setattr(txn, "GROUP_BATCHES", 1)
    monkeypatch.setattr(index, "REFRESH_AT", 1_000_000)
    feed = random_history(8, batches=50)
    first = feed.grouped(tmp_path / "s.db", lambda: 10)
    crash_copy(tmp_path / "s.db", tmp_path / "after-crash.db")
    reopened = SearchIndex.open(tmp_path / "after-crash.db")
    assert reopened.last_seq == feed.store.seq
    # Changes to documents the crash left unrefreshed are searched.
    assert answers(reopened) == answers(first)
    # An event put again under an old id is found in the file, not taken for new.
    old = next(e for _, b in feed.pairs for e in b.events if e.text)
    feed.commit(events=[dataclasses.replace(old, text="colis réexpédié")])
    feed.commit(events=[message("E90000", old.task_id, "colis arrivé", NOW + 99_999)])
    reopened.apply_many(feed.pairs[-2:], feed.store.get_customer)
    assert ids(reopened, "reexpedie") == [old.task_id]
    assert reopened.check(feed.store) == []
    first.close()
    reopened.close()


def test_reopening_after_close_goes_on(tmp_path: Path) -> None:
    feed = random_history(9, batches=80)
    first = fresh_index(tmp_path / "s.db")
    first.apply_many(feed.pairs[:40], feed.store.get_customer)
    first.close()
    reopened = SearchIndex.open(tmp_path / "s.db")
    reopened.apply_many(feed.pairs[40:], feed.store.get_customer)
    assert reopened.check(feed.store) == []
    reference = feed.one_by_one(tmp_path / "reference.db")
    assert answers(reopened) == answers(reference)
    reopened.close()
    reference.close()


def test_a_word_of_an_edited_message_is_found_by_its_prefix(tmp_path: Path) -> None:
    feed = Feed()
    anne = customer(1, "Anne Martin")
    feed.commit(customers=[anne], tasks=[task(1, anne, NOW), task(2, anne, NOW + 1)])
    feed.commit(
        events=[message("E1", "T0001", "bonjour", NOW), message("E2", "T0002", "rembourser", NOW)]
    )
    search_index = feed.grouped(tmp_path / "s.db", lambda: 2)
    assert ids(search_index, "rembours*") == ["T0002"]
    # The edited text keeps its row: its new words reach the prefix list all the same.
    feed.commit(events=[message("E1", "T0001", "remboursement", NOW)])
    search_index.apply_many(feed.pairs[-1:], feed.store.get_customer)
    assert ids(search_index, "rembours*") == ["T0002", "T0001"]
    assert ids(search_index, "bonjour") == []
    search_index.close()


def grams_agree_with_customers(path: Path) -> bool:
    """FTS5's own check that the customers' trigram index matches their rows."""
    with sqlite3.connect(path) as db:
        try:
            db.execute("INSERT INTO customer_grams(customer_grams) VALUES ('integrity-check')")
        except sqlite3.DatabaseError:
            return False
    return True


def test_closing_after_a_failure_leaves_a_file_that_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(txn, "GROUP_SECONDS", 3600.0)
    monkeypatch.setattr(txn, "GROUP_BATCHES", 1_000_000)
    feed = Feed()
    anne = customer(1, "Anne Martin", ("email", "anne@example.fr"))
    feed.commit(customers=[anne], tasks=[task(1, anne, NOW)])
    renamed = dataclasses.replace(anne, name="Béatrice Martin")
    feed.commit(customers=[renamed], tasks=[task(1, renamed, NOW + 1)])
    ghost = Task(id="T9999", number=9999, customer_id="C999", customer_name="X", updated_at=NOW)
    feed.commit(tasks=[ghost])

    def failing_lookup(customer_id: str) -> Customer | None:
        raise OSError("the store could not be read")

    search_index = fresh_index(tmp_path / "s.db")
    search_index.apply_many(feed.pairs[:1], feed.store.get_customer)
    search_index.refresh()  # commits the first batch
    search_index.apply_many(feed.pairs[1:2], feed.store.get_customer)
    with pytest.raises(OSError):
        search_index.apply_many(feed.pairs[2:], failing_lookup)
    search_index.close()
    assert grams_agree_with_customers(tmp_path / "s.db")
    reopened = SearchIndex.open(tmp_path / "s.db")
    assert reopened.last_seq == 1
    reopened.catch_up(feed.store)
    assert reopened.check(feed.store) == []
    assert ids(reopened, "from:beatrice") == ["T0001"]
    assert ids(reopened, "from:anne") == ["T0001"]  # the address still says anne
    reopened.close()
    assert grams_agree_with_customers(tmp_path / "s.db")


def test_a_file_written_by_another_connection_is_read_again(tmp_path: Path) -> None:
    feed = random_history(10, batches=30)
    search_index = fresh_index(tmp_path / "s.db")
    search_index.apply_many(feed.pairs[:10], feed.store.get_customer)
    search_index.refresh()
    # Another writer (a catch-up run elsewhere) takes the file further meanwhile.
    other = SearchIndex.open(tmp_path / "s.db")
    other.apply_many(feed.pairs[10:20], feed.store.get_customer)
    other.close()
    search_index.apply_many(feed.pairs[15:], feed.store.get_customer)
    assert search_index.check(feed.store) == []
    search_index.close()
