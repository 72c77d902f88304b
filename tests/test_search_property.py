"""The index finds exactly what a plain scan of the store finds.

Hypothesis builds random corpora (customers, tasks, messages, notes, calls,
then later changes to them) and random queries from the whole language; for
each query the tasks the SQLite store's word index returns are compared with
those the in-memory store's scan (``search.scan``: the documented rules,
applied to every task in Python) picks. The texts use Latin letters with the
accents of French and German, digits and punctuation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import ready

from agentdesk.domain import (
    CallRecord,
    Customer,
    Direction,
    Identity,
    Message,
    Note,
    Priority,
    Status,
    Task,
)
from agentdesk.domain.evolve import evolve
from agentdesk.query.parser import Query
from agentdesk.search import QuerySyntaxError, parse_query
from agentdesk.search.scan import strong_parts, term_in
from agentdesk.store import Batch
from agentdesk.store.memory import MemoryStore
from agentdesk.store.sqlite_store import SqliteStore

NOW = 1_790_000_000
WORDS = [
    "reçu", "recu", "Reçu", "colis", "COLIS", "merci", "Merci", "élodie", "Elodie", "refund",
    "refunded", "remboursé", "rembourser", "mot", "de", "passe", "Straße", "über", "NEAR",
    "and", "or", "not", "x1", "42", "0612", "a", "ça", "où", "déjà",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", " - ", "-", "'", '"', "*", ":", " (", ") ", "\n"]
CHANNELS = [("mail", "email"), ("Web Chat", "chat"), ("sms-fr", "sms")]
AGENTS = [None, "ana", "Bob", "Élise"]
TEAMS = [None, "billing", "Tech"]
TAGS = ["vip", "VIP", "urgent", "b2b", "Réclamation"]
NAMES = ["Élodie Martin", "elodie", "Jean-Luc Über", "Zoé", "Bob Smith", ""]
PHONES = ["+33 6 12 34 56 78", "06 12 34 00 00", "+1 415 555 0612", "0033612"]


# --- random corpora ---------------------------------------------------------------

texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=8).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


@st.composite
def customers(draw: st.DrawFn, index: int) -> Customer:
    identities = [
        Identity.of("email", f"{draw(st.sampled_from(['elo', 'j.b', 'zoe']))}{index}@ex.fr")
    ]
    if draw(st.booleans()):
        identities.append(Identity.of("phone", draw(st.sampled_from(PHONES))))
    return Customer(id=f"C{index}", name=draw(st.sampled_from(NAMES)), identities=identities)


@st.composite
def tasks(draw: st.DrawFn, number: int, customer_ids: list[str]) -> Task:
    channel, kind = draw(st.sampled_from(CHANNELS))
    # A customer the store does not have is known by the name on the task.
    customer_id = draw(st.sampled_from([*customer_ids, f"C-unknown-{number}"]))
    return Task(
        id=f"T{number}",
        number=number,
        customer_id=customer_id,
        customer_name=draw(st.sampled_from(NAMES)),
        status=draw(st.sampled_from(list(Status))),
        channel=channel,
        channel_kind=kind,
        subject=draw(texts),
        priority=draw(st.sampled_from(list(Priority))),
        tags=draw(st.lists(st.sampled_from(TAGS), max_size=2)),
        assignee=draw(st.sampled_from(AGENTS)),
        team=draw(st.sampled_from(TEAMS)),
        updated_at=float(NOW - draw(st.integers(0, 20)) * 86400),
        waiting_since=draw(st.one_of(st.none(), st.integers(NOW - 9 * 86400, NOW).map(float))),
        unread=draw(st.booleans()),
    )


@st.composite
def events(draw: st.DrawFn, serial: int, task: Task) -> list:
    out = []
    for i in range(draw(st.integers(0, 3))):
        common = {
            "id": f"E{serial}-{i}",
            "task_id": task.id,
            "customer_id": task.customer_id,
            "at": float(NOW - draw(st.integers(0, 10**6))),
        }
        kind = draw(st.sampled_from(["message", "message", "note", "call"]))
        if kind == "message":
            out.append(
                Message(
                    **common, direction=Direction.INBOUND, channel=task.channel, text=draw(texts)
                )
            )
        elif kind == "note":
            out.append(Note(**common, text=draw(texts)))
        else:
            out.append(
                CallRecord(**common, direction=Direction.INBOUND, channel="p", summary=draw(texts))
            )
    return out


@st.composite
def histories(draw: st.DrawFn) -> list[Batch]:
    """A first batch, then later ones that change tasks, customers and texts."""
    people = [draw(customers(i)) for i in range(draw(st.integers(1, 3)))]
    ids = [c.id for c in people]
    all_tasks = [draw(tasks(n, ids)) for n in range(1, draw(st.integers(1, 7)) + 1)]
    batches = [Batch(customers=people, tasks=all_tasks)]
    for serial, task in enumerate(all_tasks):
        batches[0].events.extend(draw(events(serial, task)))
    for step in range(draw(st.integers(0, 4))):
        batch = Batch()
        for task in draw(st.lists(st.sampled_from(all_tasks), max_size=2, unique_by=id)):
            changed = draw(tasks(task.number, ids))
            batch.tasks.append(changed)
            batch.events.extend(draw(events(100 + step * 10 + task.number, changed)))
        if draw(st.booleans()):
            old = draw(st.sampled_from(people))
            batch.customers.append(evolve(draw(customers(int(old.id[1:]))), id=old.id))
        if batch:
            batches.append(batch)
    return batches


# --- random queries ------------------------------------------------------------------

word = st.sampled_from([*WORDS, "Über", "RECU", "ELODIE", "zzz"])
plain = st.one_of(
    word,
    word.map(lambda w: w[: max(1, len(w) // 2)] + "*"),
    st.tuples(word, word).map(lambda p: f'"{p[0]} {p[1]}"'),
    st.tuples(word, word).map(lambda p: f'"{p[0]} {p[1][:2]}"*'),
)
filter_values = {
    "status": st.sampled_from(["open", "pending", "closed"]),
    "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
    "channel": st.sampled_from(["email", "chat", "sms", "mail", "sms-fr", '"web chat"', "fax"]),
    "from": st.sampled_from(
        ["elo", "ÉLODIE", "zoé", "0612", "06.12.34", '"+33 6 12"', "415", "ex.fr", "b", "9"]
    ),
    "assignee": st.sampled_from(["me", "none", "ana", "ELISE", "bob", "zed"]),
    "team": st.sampled_from(["none", "billing", "tech"]),
    "tag": st.sampled_from(["vip", "urgent", "reclamation", "b2b", "none"]),
    "is": st.sampled_from(["unread", "read", "waiting", "open", "closed"]),
    "after": st.sampled_from(["3d", "1w", "240h", "2026-09-01"]),
    "before": st.sampled_from(["3d", "1w", "2026-09-10"]),
}
a_filter = st.sampled_from(sorted(filter_values)).flatmap(
    lambda key: filter_values[key].map(lambda value: f"{key}:{value}")
)
item = st.one_of(
    plain,
    plain.map(lambda p: "-" + p),
    st.tuples(plain, plain).map(lambda p: f"{p[0]} OR {p[1]}"),
    a_filter,
    a_filter.map(lambda f: "-" + f),
    st.integers(1, 8).map(lambda n: f"#{n}"),
)
queries = st.lists(item, max_size=4).map(" ".join)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=histories(),
    texts_=st.lists(queries, min_size=1, max_size=8),
    me=st.sampled_from(AGENTS[1:]),
)
def test_index_agrees_with_a_scan_of_the_store(
    history: list[Batch], texts_: list[str], me: str
) -> None:
    memory = MemoryStore()
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore.open(Path(directory))
        try:
            # Half the history one batch a transaction, the rest in one group.
            half = len(history) // 2
            for batch in history:
                memory.commit(ready(memory, batch))
            for batch in history[:half]:
                store.commit(ready(store, batch))
            with store.group() as group:
                for batch in history[half:]:
                    group.apply(ready(store, batch))
            for text in ["", *texts_]:
                query = parse_query(text)
                page = store.search(query, me=me, now=NOW, limit=1000)
                got = [hit.task_id for hit in page.hits]
                want = {
                    hit.task_id for hit in memory.search(query, me=me, now=NOW, limit=1000).hits
                }
                assert len(got) == len(set(got)), text
                assert set(got) == want, text
                assert page.total == len(want) and page.next_offset is None
                check_order(memory, query, got)
            assert store.integrity_check() == []
        finally:
            store.close()


def check_order(store: MemoryStore, query: Query, got: list[str]) -> None:
    tasks_: list[Task] = [store.get_task(task_id) for task_id in got]  # type: ignore[misc]
    sort = query.effective_sort.value
    if sort == "relevance" and not query.groups:
        sort = "newest"
    newest = [-t.updated_at for t in tasks_]
    if sort == "newest":
        assert newest == sorted(newest)
    elif sort == "oldest":
        assert newest == sorted(newest, reverse=True)
    elif sort == "waiting":
        keys = [(t.waiting_since is None, t.waiting_since or -t.updated_at) for t in tasks_]
        assert keys == sorted(keys)
    else:
        # Words in the subject or the customer's name or identities first.
        terms = [term for group in query.groups for term in group]
        keys = [
            (not any(term_in(term, strong_parts(t, customer_of(store, t))) for term in terms),
             -t.updated_at)
            for t in tasks_
        ]  # fmt: skip
        assert keys == sorted(keys)


def customer_of(store: MemoryStore, task: Task) -> Customer:
    return store.get_customer(task.customer_id) or Customer(
        id=task.customer_id, name=task.customer_name
    )


@pytest.fixture(scope="module")
def small_store() -> Iterator[SqliteStore]:
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore.open(Path(directory))
        store.commit(
            Batch(
                customers=[Customer(id="C1", name="Élodie")],
                tasks=[Task(id="T1", number=1, customer_id="C1", subject="colis reçu")],
            )
        )
        yield store
        store.close()


@settings(max_examples=60, deadline=None)
@given(
    text=st.one_of(
        queries, st.text(max_size=60), st.text(alphabet='"*:()-+^ NEARANDOR#{}', max_size=40)
    )
)
def test_any_text_gives_results_or_a_syntax_error(small_store: SqliteStore, text: str) -> None:
    try:
        page = small_store.search(parse_query(text), me="ana", now=NOW)
        assert page.total in (0, 1)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
