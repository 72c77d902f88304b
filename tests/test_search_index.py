"""The search index inside a real SQLite store, written in its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
from agentdesk.search import QuerySyntaxError, SearchPage, lexicon, pager, parse_query
from agentdesk.store import Batch, StoreError
from agentdesk.store.sqlite_store import SqliteStore

NOW = 1_790_000_000.0
DAY = 86400.0

ELODIE = Customer(
    id="C1",
    name="Élodie Martin",
    identities=[
        Identity.of("email", "elodie.martin@exemple.fr"),
        Identity.of("phone", "+33 6 12 34 56 78"),
    ],
)
JOHN = Customer(id="C2", name="John Smith", identities=[Identity.of("email", "john@example.com")])


def task(number: int, customer: Customer = ELODIE, **changes: object) -> Task:
    base = Task(
        id=f"T{number}",
        number=number,
        customer_id=customer.id,
        customer_name=customer.name,
        channel="support-mail",
        channel_kind="email",
        subject=f"Request {number}",
        preview=f"preview of {number}",
        created_at=NOW - 10 * DAY,
        updated_at=NOW - number * 60,
    )
    return evolve(base, **changes)


def message(event_id: str, task_id: str, text: str, at: float = NOW - DAY, **kw: object) -> Message:
    return Message(
        id=event_id,
        task_id=task_id,
        customer_id=kw.pop("customer_id", "C1"),  # type: ignore[arg-type]
        at=at,
        direction=Direction.INBOUND,
        channel="support-mail",
        text=text,
        **kw,  # type: ignore[arg-type]
    )


class Index:
    """Searching a store with text, as a person types it."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def search(
        self,
        text: str,
        *,
        now: float = NOW,
        me: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> SearchPage:
        return self.store.search(parse_query(text), me=me, now=now, limit=limit, offset=offset)

    def close(self) -> None:
        self.store.close()


class Desk:
    """A store to commit to (a task replacing one takes its version) and search."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = SqliteStore.open(path)
        self.index = Index(self.store)

    def commit(self, **parts: object) -> int:
        batch = Batch(**parts)  # type: ignore[arg-type]
        for item in batch.tasks:
            held = self.store.get_task(item.id)
            item.version = held.version if held else 0
        return self.store.commit(batch)

    def ids(self, query: str, **kw: object) -> list[str]:
        page = self.index.search(query, now=NOW, limit=100, **kw)  # type: ignore[arg-type]
        return [hit.task_id for hit in page.hits]


def fill(desk: Desk) -> Desk:
    """Three tasks of two customers: a message, a note and a call between them."""
    desk.commit(
        customers=[ELODIE, JOHN],
        tasks=[
            task(1, subject="Colis non reçu", tags=["VIP"], assignee="Zoé", unread=True),
            task(2, JOHN, status=Status.PENDING, channel="web-chat", channel_kind="chat"),
            task(3, status=Status.CLOSED, priority=Priority.URGENT, team="Billing"),
        ],
        events=[
            message("E1", "T1", "Bonjour, je n'ai pas reçu mon colis. Merci!"),
            message("E2", "T2", "My refund never arrived", customer_id="C2"),
            Note(
                id="E3", task_id="T3", customer_id="C1", at=NOW - DAY, text="Remboursé par virement"
            ),
            CallRecord(
                id="E4",
                task_id="T3",
                customer_id="C1",
                at=NOW - DAY,
                direction=Direction.INBOUND,
                channel="phone",
                summary="Cliente rappelle pour le mot de passe",
            ),
        ],
    )
    return desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = fill(Desk(tmp_path / "store"))
    yield desk
    desk.index.close()


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The same desk, shared by the tests that only search it."""
    desk = fill(Desk(tmp_path_factory.mktemp("reading") / "store"))
    yield desk
    desk.index.close()


def test_a_message_is_findable_as_soon_as_it_is_applied(desk: Desk) -> None:
    assert desk.ids("virement") == ["T3"]
    desk.commit(events=[message("E5", "T2", "Où est mon virement ?", customer_id="C2")])
    assert sorted(desk.ids("virement")) == ["T2", "T3"]


def test_accents_and_case_do_not_matter(reading: Desk) -> None:
    assert reading.ids("recu") == ["T1"]
    assert reading.ids("REÇU") == ["T1"]
    assert sorted(reading.ids("elodie")) == ["T1", "T3"]  # the customer's name
    assert reading.ids("rembourse") == ["T3"]


def test_messages_notes_call_summaries_subject_and_identities_are_searched(reading: Desk) -> None:
    assert reading.ids("merci") == ["T1"]
    assert reading.ids("virement") == ["T3"]
    assert reading.ids('"mot de passe"') == ["T3"]
    assert reading.ids("request 2") == ["T2"]
    assert reading.ids("john@example.com") == ["T2"]


def test_all_words_must_match_across_the_task_but_a_phrase_stays_in_one_text(desk: Desk) -> None:
    assert desk.ids("colis merci") == ["T1"]
    assert desk.ids("colis virement") == []
    # "Merci!" ends a message and "Remboursé" starts a note of another task:
    # within one task, two messages never join into a phrase either.
    desk.commit(events=[message("E6", "T1", "Second message")])
    assert desk.ids('"merci second"') == []
    assert desk.ids("merci second") == ["T1"]


def test_or_exclusion_prefix(reading: Desk) -> None:
    assert sorted(reading.ids("colis OR refund")) == ["T1", "T2"]
    assert sorted(reading.ids("-colis")) == ["T2", "T3"]
    assert reading.ids("refun*") == ["T2"]
    assert reading.ids("remb*") == ["T3"]


def test_prefix_finds_every_word_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = Desk(tmp_path / "store")
    desk.commit(customers=[ELODIE], tasks=[task(n) for n in range(1, 5)])
    words = ["rembourser", "Remboursement", "remboursé", "rembobiner"]
    desk.commit(events=[message(f"E{n}", f"T{n}", w) for n, w in enumerate(words, start=1)])
    assert sorted(desk.ids("rembours*")) == ["T1", "T2", "T3"]
    assert sorted(desk.ids('"rembours"*')) == ["T1", "T2", "T3"]
    assert sorted(desk.ids("REMBO*")) == ["T1", "T2", "T3", "T4"]
    assert desk.ids("rembourseme*") == ["T2"]
    assert desk.ids("-rembours* remb*") == ["T4"]
    # A prefix standing for too many words is left to FTS5 as it is.
    monkeypatch.setattr(lexicon, "MAX_EXPANSION", 1)
    assert sorted(desk.ids("rembours*")) == ["T1", "T2", "T3"]
    desk.index.close()


def test_prefix_of_a_phrase(reading: Desk) -> None:
    assert reading.ids('"mot de pas"*') == ["T3"]
    assert reading.ids('"mot de"*') == ["T3"]
    assert reading.ids('"de passe"*') == ["T3"]
    assert reading.ids('"mot passe"*') == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status:open", ["T1"]),
        ("status:open status:pending", ["T1", "T2"]),
        ("-status:closed", ["T1", "T2"]),
        ("is:closed", ["T3"]),
        ("channel:chat", ["T2"]),
        ("channel:support-mail", ["T1", "T3"]),
        ("channel:SUPPORT-MAIL", ["T1", "T3"]),
        ("from:elodie", ["T1", "T3"]),
        ("from:ÉLO", ["T1", "T3"]),
        ("customer:smith", ["T2"]),
        ("from:exemple.fr", ["T1", "T3"]),
        ("from:0612", ["T1", "T3"]),
        ("from:06.12.34", ["T1", "T3"]),
        ('from:"+33 6 12"', ["T1", "T3"]),
        ("from:612", ["T1", "T3"]),
        ("from:9999", []),
        ("-from:elodie", ["T2"]),
        ("assignee:zoe", ["T1"]),
        ("assignee:none", ["T2", "T3"]),
        ("team:billing", ["T3"]),
        ("team:none", ["T1", "T2"]),
        ("tag:vip", ["T1"]),
        ("-tag:vip", ["T2", "T3"]),
        ("priority:urgent", ["T3"]),
        ("is:unread", ["T1"]),
        ("is:read", ["T2", "T3"]),
        ("#2", ["T2"]),
        ("#2 #3", ["T2", "T3"]),
        ("#99", []),
        ("status:open colis", ["T1"]),
        ("status:closed colis", []),
    ],
)
def test_filters(reading: Desk, query: str, expected: list[str]) -> None:
    assert sorted(reading.ids(query)) == expected


def test_assignee_me_needs_an_agent(reading: Desk) -> None:
    assert reading.ids("assignee:me", me="ZOÉ") == ["T1"]
    with pytest.raises(QuerySyntaxError) as caught:
        reading.ids("refund assignee:me")
    assert caught.value.position == 7


def test_dates_compare_with_last_activity(desk: Desk) -> None:
    desk.commit(tasks=[task(4, updated_at=NOW - 30 * DAY), task(5, updated_at=NOW - 2 * DAY)])
    assert desk.ids("after:7d") == ["T1", "T2", "T3", "T5"]
    assert desk.ids("before:7d") == ["T4"]
    assert desk.ids("after:3d before:1d") == ["T5"]
    assert desk.ids("-after:3d") == ["T4"]
    day = __import__("datetime").date.fromtimestamp(NOW - 30 * DAY).isoformat()
    assert "T4" in desk.ids(f"after:{day}")


def test_times_out_of_range_do_not_break_the_index(desk: Desk) -> None:
    # A clock in milliseconds by mistake; a time no clock gives is not saved at all.
    far = NOW * 1000
    desk.commit(tasks=[task(4, updated_at=far), task(6, updated_at=-far)])
    with pytest.raises(StoreError, match="cannot be saved"):
        desk.commit(tasks=[task(5, updated_at=float("nan"))])
    assert desk.ids("")[0] == "T4" and desk.ids("sort:oldest")[0] == "T6"
    assert sorted(desk.ids("#4 #5 #6")) == ["T4", "T6"]
    assert "T4" in desk.ids("after:99999w") and "T6" in desk.ids("before:2000-01-01")
    assert desk.store.integrity_check() == []


def test_sort_orders(desk: Desk) -> None:
    # updated_at falls with the number: T1 is the most recent.
    assert desk.ids("") == ["T1", "T2", "T3"]
    assert desk.ids("sort:oldest") == ["T3", "T2", "T1"]
    desk.commit(
        tasks=[task(2, JOHN, waiting_since=NOW - 5 * DAY), task(3, waiting_since=NOW - 9 * DAY)]
    )
    assert desk.ids("sort:waiting") == ["T3", "T2", "T1"]
    assert desk.ids("is:waiting") == ["T2", "T3"]


def test_relevance_puts_subject_and_customer_matches_first(desk: Desk) -> None:
    desk.commit(
        tasks=[task(7, subject="Colis abîmé", updated_at=NOW - 10 * DAY), task(8, updated_at=NOW)],
        events=[message("E7", "T8", "colis " + "bla " * 200)],
    )
    page = desk.index.search("colis", now=NOW)
    assert [h.task_id for h in page.hits] == ["T1", "T7", "T8"]
    assert [h.score for h in page.hits] == [2.0, 2.0, 1.0]
    assert desk.ids("elodie virement") == ["T3"]
    assert desk.ids("colis sort:newest") == ["T8", "T1", "T7"]


def test_snippet_marks_the_matched_words_in_the_best_message(desk: Desk) -> None:
    desk.commit(events=[message("E8", "T1", "Rien à voir", at=NOW - 10)])
    (hit,) = desk.index.search("recu colis", now=NOW).hits
    assert hit.snippet == [
        ("Bonjour, je n'ai pas ", False),
        ("reçu", True),
        (" mon ", False),
        ("colis", True),
        (". Merci!", False),
    ]
    assert hit.customer_name == "Élodie Martin"
    assert (hit.number, hit.status, hit.channel_kind, hit.assignee) == (1, "open", "email", "Zoé")


def test_snippet_falls_back_to_the_subject_then_the_preview(reading: Desk) -> None:
    (hit,) = reading.index.search("request 2", now=NOW).hits
    assert hit.snippet == [("Request", True), (" ", False), ("2", True)]
    (hit,) = reading.index.search("#2", now=NOW).hits
    assert hit.snippet == [("preview of 2", False)]
    assert hit.score == 0.0


def test_long_message_snippet_is_cut_around_the_word(desk: Desk) -> None:
    text = " ".join(f"w{i}" for i in range(300)) + " needle " + " ".join("z" for _ in range(300))
    desk.commit(events=[message("E9", "T2", text, customer_id="C2")])
    (hit,) = desk.index.search("needle", now=NOW).hits
    joined = "".join(part for part, _ in hit.snippet)
    assert ("needle", True) in hit.snippet
    assert len(joined) < 300 and joined.startswith("…") and joined.endswith("…")


def test_pages_cover_every_result_once(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "store")
    desk.commit(customers=[ELODIE], tasks=[task(n) for n in range(1, 24)])
    seen, offset, pages = [], 0, 0
    while offset is not None:
        page = desk.index.search("status:open", now=NOW, limit=5, offset=offset)
        assert page.total == 23 and page.total_exact and page.offset == offset
        seen += [hit.number for hit in page.hits]
        offset, pages = page.next_offset, pages + 1
    assert seen == list(range(1, 24)) and pages == 5
    assert desk.index.search("status:open", limit=5, offset=100).hits == []
    desk.index.close()


def test_counts_stop_at_the_cap_and_paging_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pager, "COUNT_CAP", 4)
    monkeypatch.setattr(pager, "RANK_WINDOW", 4)
    desk = Desk(tmp_path / "store")
    desk.commit(
        customers=[ELODIE],
        tasks=[task(n, subject="Colis" if n in (2, 7) else "Autre") for n in range(1, 11)],
        events=[message(f"E{n}", f"T{n}", "colis " * n) for n in range(1, 11)],
    )
    page = desk.index.search("colis", now=NOW, limit=2)
    assert (page.total, page.total_exact, page.next_offset) == (4, False, 2)
    numbers, scores = [], []
    offset = 0
    while offset is not None:
        page = desk.index.search("colis", now=NOW, limit=3, offset=offset)
        numbers += [hit.number for hit in page.hits]
        scores += [hit.score for hit in page.hits]
        offset = page.next_offset
    # Among the 4 most recent matches (1 to 4), subject matches first; then
    # the older ones, newest first.
    assert numbers == [2, 1, 3, 4, 5, 6, 7, 8, 9, 10]
    assert scores == [2.0] + [1.0] * 9
    assert page.total == 10 and not page.total_exact
    assert [h.number for h in desk.index.search("colis sort:oldest", now=NOW).hits][:2] == [10, 9]
    desk.index.close()


@pytest.mark.parametrize(
    "query",
    [
        "*",
        '"*"',
        "NEAR(a, b)",
        "a NEAR b",
        "colis AND",
        "AND OR NOT",
        "^colis",
        "+colis",
        "colis -",
        "( ) : ^ + - *",
        '"colis" "" "-"',
        "col:is",
        "{subject}:colis",
        "facets:all",
        "'; DROP TABLE tasks; --",
        "\x00\x1b[31m",
        "\ue000 merci \ue000",
        "x" * 1999,
        "a " * 100,
        "a OR " * 99 + "a",
    ],
)
def test_typed_syntax_never_reaches_the_engine(reading: Desk, query: str) -> None:
    try:
        page = reading.index.search(query, now=NOW)
    except QuerySyntaxError:
        return
    assert page.total >= 0
    assert reading.index.search("merci", now=NOW).total == 1


def test_facet_words_are_not_searchable_as_text(reading: Desk) -> None:
    assert reading.ids("all") == []
    assert reading.ids("sopen") == []


def test_ten_thousand_character_query_is_refused_cleanly(reading: Desk) -> None:
    with pytest.raises(QuerySyntaxError, match="too long"):
        reading.index.search("colis " * 1700, now=NOW)


def test_customer_changes_reach_every_task_of_the_customer(desk: Desk) -> None:
    renamed = evolve(
        ELODIE,
        name="Élodie Durand",
        identities=[Identity.of("email", "e.durand@exemple.fr"), Identity.of("chat", "s-42")],
    )
    desk.commit(customers=[renamed])
    assert sorted(desk.ids("durand")) == ["T1", "T3"]
    assert desk.ids("martin") == []
    assert desk.ids("from:martin") == []
    assert desk.ids("from:0612") == []
    assert sorted(desk.ids("from:s-42")) == ["T1", "T3"]


def test_a_task_moving_to_another_customer(desk: Desk) -> None:
    desk.commit(tasks=[task(1, JOHN)])
    assert sorted(desk.ids("from:john")) == ["T1", "T2"]


def test_an_event_put_again_replaces_its_text(desk: Desk) -> None:
    desk.commit(events=[message("E1", "T1", "Texte corrigé")])
    assert desk.ids("colis") == ["T1"]  # still in the subject
    assert desk.ids("merci") == []
    assert desk.ids("corrige") == ["T1"]


def test_task_updates_move_filters_and_order(desk: Desk) -> None:
    desk.commit(tasks=[task(3, status=Status.OPEN, updated_at=NOW, tags=["b2b"])])
    assert desk.ids("status:open") == ["T3", "T1"]
    assert desk.ids("tag:b2b") == ["T3"]
    assert desk.ids("virement") == ["T3"]


def test_a_task_whose_customer_is_unknown_is_found_by_its_name(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "store")
    desk.commit(tasks=[task(1, Customer(id="C9", name="Ghost Writer"))])
    assert desk.ids("from:ghost") == ["T1"]
    assert desk.ids("writer") == ["T1"]
    desk.index.close()


# --- the file: reopening, rebuilding ---------------------------------------------------


def test_reopening_keeps_everything(desk: Desk) -> None:
    desk.store.close()
    store = SqliteStore.open(desk.path)
    assert Index(store).search("colis").total == 1
    assert store.integrity_check() == []
    store.close()


def test_rebuild_gives_the_same_answers_as_the_write_path(desk: Desk) -> None:
    queries = ["colis", "from:0612", "status:open", "", "sort:oldest", "-colis", "remb*"]
    before = [desk.ids(q) for q in queries]
    desk.store.reindex()
    assert [desk.ids(q) for q in queries] == before
    assert desk.store.integrity_check() == []


def test_many_changes_between_searches_are_all_found(tmp_path: Path) -> None:
    desk = Desk(tmp_path / "store")
    desk.commit(customers=[ELODIE], tasks=[task(n) for n in range(1, 201)])
    for n in range(1, 201):
        desk.commit(
            tasks=[task(n, updated_at=NOW + n)],
            events=[message(f"E{n}", f"T{n}", f"message numéro{n} commun")],
        )
    assert desk.index.search("commun", now=NOW).total == 200
    assert desk.ids("numero150") == ["T150"]
    assert desk.ids("")[:2] == ["T200", "T199"]
    assert desk.store.integrity_check() == []
    desk.index.close()
