"""The word index written in groups: a transaction holding many batches gives
the answers the same batches give one transaction each, and a rebuild gives,
and the plain scan of the in-memory store finds the same tasks."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import pytest
from store_helpers import ready

from agentdesk.domain import Customer, Direction, Identity, Message, Status, Task
from agentdesk.domain.evolve import evolve
from agentdesk.search import parse_query
from agentdesk.store import Batch, DuplicateKey, Store
from agentdesk.store.memory import MemoryStore
from agentdesk.store.sqlite_store import SqliteStore

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
    return evolve(base, **changes)


def message(event_id: str, task_id: str, text: str, at: float, **changes: object) -> Message:
    base = Message(
        id=event_id,
        task_id=task_id,
        customer_id="C001",
        at=at,
        direction=Direction.INBOUND,
        channel="mail",
        text=text,
    )
    return evolve(base, **changes)


def grouped(path: Path, batches: list[Batch], sizes: Callable[[], int]) -> SqliteStore:
    store = SqliteStore.open(path)
    start = 0
    while start < len(batches):
        end = start + sizes()
        with store.group() as group:
            for batch in batches[start:end]:
                group.apply(ready(store, batch))
        start = end
    return store


def ids(store: Store, query: str) -> list[str]:
    page = store.search(parse_query(query), me="ana", now=NOW + 10_000, limit=500)
    return [hit.task_id for hit in page.hits]


def answers(store: Store) -> list[list[tuple[tuple[int, float], list[str]]]]:
    """Each query's hits in order; tasks last active in the same millisecond may
    come in either order (the order in which they were written), so they are
    compared as a set."""
    result = []
    for query in QUERIES:
        hits = store.search(parse_query(query), me="ana", now=NOW + 10_000, limit=500).hits
        runs = groupby(hits, key=lambda hit: (math.floor(hit.last_activity * 1000), hit.score))
        result.append([(key, sorted(hit.task_id for hit in run)) for key, run in runs])
    return result


def random_history(seed: int, batches: int = 160) -> list[Batch]:
    """Customers, tasks and events, then changes to all of them, at random."""
    rng = random.Random(seed)
    words = ["colis", "reçu", "remboursé", "rembourser", "mot", "de", "passe", "merci", "où"]
    history: list[Batch] = []
    customers: dict[str, Customer] = {}
    tasks: dict[str, Task] = {}
    events: dict[str, Message] = {}
    clock = NOW
    for n in range(batches):
        clock += rng.choice([0.0, 0.0004, 1.0, 30.0])
        batch = Batch()
        roll = rng.random()
        if not customers or roll < 0.15:
            number = len(customers) + 1
            new = customer(number, rng.choice(["Anne Martin", "Jean Dupont", "Zoé"]))
            new.identities.append(Identity.of("phone", f"+33 6 12 34 {number:02d} {n % 100:02d}"))
            customers[new.id] = new
            batch.customers.append(new)
        elif roll < 0.3:
            # A customer renamed or given one more identity.
            old = customers[rng.choice(sorted(customers))]
            changed = evolve(
                old,
                name=rng.choice([old.name, "Béatrice Martin", "Anne"]),
                identities=[*old.identities, Identity.of("chat", f"session-{n}")],
            )
            customers[changed.id] = changed
            batch.customers.append(changed)
        owner = customers[rng.choice(sorted(customers))]
        if not tasks or rng.random() < 0.4:
            current = task(len(tasks) + 1, owner, clock)
        else:
            current = evolve(
                tasks[rng.choice(sorted(tasks))],
                updated_at=clock,
                status=rng.choice(list(Status)),
                assignee=rng.choice([None, "ana"]),
            )
            if rng.random() < 0.2:
                current = evolve(current, customer_id=owner.id)
        tasks[current.id] = current
        batch.tasks.append(current)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        if events and rng.random() < 0.2:
            # An event put again with its text edited.
            old_event = events[rng.choice(sorted(events))]
            event = evolve(old_event, text=text)
        else:
            event = message(f"E{n:05d}", current.id, text, clock)
        events[event.id] = event
        batch.events.append(event)
        history.append(batch)
    return history


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_groups_one_by_one_a_rebuild_and_a_scan_agree(tmp_path: Path, seed: int) -> None:
    history = random_history(seed)
    rng = random.Random(seed)
    single = grouped(tmp_path / "single", history, lambda: 1)
    many = grouped(tmp_path / "grouped", history, lambda: rng.randint(1, 40))
    rebuilt = grouped(tmp_path / "rebuilt", history, lambda: 1)
    rebuilt.reindex()
    memory = MemoryStore()
    for batch in history:
        memory.commit(ready(memory, batch))
    try:
        assert answers(many) == answers(single) == answers(rebuilt)
        for query in QUERIES:
            assert set(ids(many, query)) == set(ids(memory, query)), query
        assert many.seq == single.seq == len(history)
        assert many.integrity_check() == [] and single.integrity_check() == []
    finally:
        for store in (single, many, rebuilt):
            store.close()


def test_a_task_changed_several_times_in_a_group_is_indexed_as_it_ends(tmp_path: Path) -> None:
    anne = customer(1, "Anne Martin")
    history = [
        Batch(customers=[anne], tasks=[task(1, anne, NOW, subject="Colis perdu")]),
        Batch(tasks=[task(1, anne, NOW + 1, subject="Remboursement", status=Status.PENDING)]),
        Batch(
            tasks=[task(1, anne, NOW + 2, subject="Mot de passe", status=Status.CLOSED)],
            events=[message("E1", "T0001", "merci", NOW + 2)],
        ),
    ]
    store = grouped(tmp_path, history, lambda: 3)
    assert ids(store, "status:closed") == ["T0001"]
    assert ids(store, "status:pending") == []
    assert ids(store, "colis") == []
    assert ids(store, '"mot de passe" merci') == ["T0001"]
    assert store.integrity_check() == []
    store.close()


def test_a_customer_renamed_in_the_middle_of_a_group(tmp_path: Path) -> None:
    anne = customer(1, "Anne Martin", ("email", "contact@example.fr"))
    renamed = evolve(
        anne, name="Béatrice Martin", identities=[*anne.identities, Identity.of("phone", "0612")]
    )
    history = [
        Batch(customers=[anne], tasks=[task(1, anne, NOW)]),
        Batch(tasks=[task(2, anne, NOW + 1)]),
        Batch(customers=[renamed], events=[message("E1", "T0001", "bonjour", NOW + 2)]),
        Batch(tasks=[task(3, renamed, NOW + 3)]),
    ]
    # The first two batches in one group, the rest in the next.
    store = grouped(tmp_path, history, iter([2, 2]).__next__)
    assert ids(store, "anne") == []
    assert sorted(ids(store, "béatrice")) == ["T0001", "T0002", "T0003"]
    assert sorted(ids(store, "from:0612")) == ["T0001", "T0002", "T0003"]
    assert store.integrity_check() == []
    store.close()


def test_a_batch_refused_inside_a_group_leaves_nothing_in_the_index(tmp_path: Path) -> None:
    anne = customer(1, "Anne Martin")
    store = SqliteStore.open(tmp_path)
    try:
        with store.group() as group:
            group.apply(
                Batch(
                    customers=[anne],
                    tasks=[task(1, anne, NOW)],
                    events=[message("E1", "T0001", "colis", NOW, external_id="m-1")],
                )
            )
            with pytest.raises(DuplicateKey):
                group.apply(
                    Batch(
                        tasks=[task(2, anne, NOW + 1, subject="Parapluie")],
                        events=[message("E2", "T0002", "parapluie", NOW + 1, external_id="m-1")],
                    )
                )
        assert ids(store, "parapluie") == [] and ids(store, "colis") == ["T0001"]
        assert ids(store, "") == ["T0001"]
        assert store.integrity_check() == []
    finally:
        store.close()


def test_a_word_of_an_edited_message_is_found_by_its_prefix(tmp_path: Path) -> None:
    anne = customer(1, "Anne Martin")
    history = [
        Batch(
            customers=[anne],
            tasks=[task(1, anne, NOW)],
            events=[message("E1", "T0001", "bonjour", NOW)],
        ),
        Batch(events=[message("E1", "T0001", "parapluie cassé", NOW)]),
    ]
    store = grouped(tmp_path, history, lambda: 1)
    assert ids(store, "parap*") == ["T0001"]
    assert ids(store, "bonj*") == []
    store.close()
