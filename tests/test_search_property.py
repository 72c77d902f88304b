"""The index finds exactly what a plain scan of the store finds.

Hypothesis builds random corpora (customers, tasks, messages, notes, calls,
then later changes to them) and random queries from the whole language; for
each query the tasks the index returns are compared with those a naive
evaluator, written here from the documented rules, picks by reading every
task of a ``MemoryStore``. The texts use Latin letters with the accents of
French and German, digits and punctuation.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from agentdesk.search import QuerySyntaxError, SearchIndex, parse_query
from agentdesk.search.query import Filter, Query, Term
from agentdesk.store import Batch
from agentdesk.store.memory import MemoryStore

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


# --- the naive evaluator ----------------------------------------------------------


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words_of(text: str) -> list[str]:
    return [fold(w) for w in re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text))]


def term_in(term: Term, parts: list[list[str]]) -> bool:
    n = len(term.tokens)
    for tokens in parts:
        for i in range(len(tokens) - n + 1):
            head = tokens[i : i + n - 1]
            last = tokens[i + n - 1]
            if head == list(term.tokens[:-1]) and (
                last == term.tokens[-1] or (term.prefix and last.startswith(term.tokens[-1]))
            ):
                return True
    return False


def phone_forms(value: str) -> list[str]:
    digits = re.sub(r"\D", "", value)
    forms = [digits] if digits else []
    if value.startswith("+"):
        forms += ["0" + digits[k:] for k in (1, 2, 3) if len(digits) > k + 1]
    return forms


def customer_matches(fragment: str, customer: Customer) -> bool:
    lines = [fold(customer.name)] + [fold(i.value) for i in customer.identities]
    lines += [
        form for i in customer.identities if i.kind == "phone" for form in phone_forms(i.value)
    ]
    wanted = [fragment]
    if re.fullmatch(r"[\d\s+().\-/]*\d[\d\s+().\-/]*", fragment):
        wanted.append(re.sub(r"\D", "", fragment))
    return any(w in line for w in wanted for line in lines)


def passes(item: Filter, task: Task, customer: Customer, me: str | None) -> bool:
    value = item.value
    if item.key == "status":
        return str(task.status) == value
    if item.key == "priority":
        return str(task.priority) == value
    if item.key == "number":
        return task.number == int(value)
    if item.key == "channel":
        return value in (fold(task.channel), fold(task.channel_kind))
    if item.key == "assignee":
        if value == "me":
            value = fold(me or "")
        return fold(task.assignee or "") == ("" if value == "none" else value)
    if item.key == "team":
        return fold(task.team or "") == ("" if value == "none" else value)
    if item.key == "tag":
        return value in {fold(t) for t in task.tags}
    if item.key == "unread":
        return task.unread
    if item.key == "waiting":
        return task.waiting_since is not None
    if item.key == "before":
        return task.updated_at < item.threshold(NOW)
    if item.key == "after":
        return task.updated_at >= item.threshold(NOW)
    if item.key == "customer":
        return customer_matches(value, customer)
    raise AssertionError(item.key)


def customer_of(store: MemoryStore, task: Task) -> Customer:
    return store.get_customer(task.customer_id) or Customer(
        id=task.customer_id, name=task.customer_name
    )


def strong_parts(store: MemoryStore, task: Task) -> list[list[str]]:
    """The subject and the customer's name and identities, as lists of words."""
    customer = customer_of(store, task)
    parts = [words_of(task.subject), words_of(customer.name)]
    return parts + [words_of(i.value) for i in customer.identities]


def naive(store: MemoryStore, query: Query, me: str | None) -> set[str]:
    found = set()
    for task in store.tasks():
        customer = customer_of(store, task)
        parts = strong_parts(store, task)
        for event in store.events_of_task(task.id):
            text = getattr(event, "text", None) or getattr(event, "summary", None)
            if isinstance(event, Message | Note | CallRecord) and text:
                parts.append(words_of(text))
        if not all(any(term_in(t, parts) for t in group) for group in query.groups):
            continue
        if any(term_in(t, parts) for t in query.excluded):
            continue
        ok = True
        for filters in query.by_key.values():
            positive = [f for f in filters if not f.negated]
            if positive and not any(passes(f, task, customer, me) for f in positive):
                ok = False
            if any(passes(f, task, customer, me) for f in filters if f.negated):
                ok = False
        if ok:
            found.add(task.id)
    return found


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
            batch.customers.append(dataclasses.replace(draw(customers(int(old.id[1:]))), id=old.id))
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


def open_index(directory: str, store: MemoryStore) -> SearchIndex:
    index = SearchIndex.open(Path(directory) / "search.db")
    index.catch_up(store)
    return index


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=histories(),
    texts_=st.lists(queries, min_size=1, max_size=8),
    me=st.sampled_from(AGENTS[1:]),
)
def test_index_agrees_with_a_scan_of_the_store(
    history: list[Batch], texts_: list[str], me: str
) -> None:
    store = MemoryStore()
    with tempfile.TemporaryDirectory() as directory:
        index = open_index(directory, store)
        # Half the history through the write path, the rest replayed by catch_up.
        half = len(history) // 2
        for batch in history[:half]:
            index.apply(store.commit(batch), batch, store.get_customer)
        for batch in history[half:]:
            store.commit(batch)
        index.catch_up(store)
        try:
            for text in ["", *texts_]:
                query = parse_query(text)
                page = index.search(query, me=me, now=NOW, limit=1000)
                got = [hit.task_id for hit in page.hits]
                want = naive(store, query, me)
                assert len(got) == len(set(got)), text
                assert set(got) == want, text
                assert page.total == len(want) and page.next_offset is None
                check_order(store, query, got)
            assert index.check(store) == []
        finally:
            index.close()


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
            (not any(term_in(term, strong_parts(store, t)) for term in terms), -t.updated_at)
            for t in tasks_
        ]
        assert keys == sorted(keys)


@pytest.fixture(scope="module")
def small_index() -> Iterator[SearchIndex]:
    store = MemoryStore()
    store.commit(
        Batch(
            customers=[Customer(id="C1", name="Élodie")],
            tasks=[Task(id="T1", number=1, customer_id="C1", subject="colis reçu")],
        )
    )
    with tempfile.TemporaryDirectory() as directory:
        index = open_index(directory, store)
        yield index
        index.close()


@settings(max_examples=60, deadline=None)
@given(
    text=st.one_of(
        queries, st.text(max_size=60), st.text(alphabet='"*:()-+^ NEARANDOR#{}', max_size=40)
    )
)
def test_any_text_gives_results_or_a_syntax_error(small_index: SearchIndex, text: str) -> None:
    try:
        page = small_index.search(text, me="ana", now=NOW)
        assert page.total in (0, 1)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
