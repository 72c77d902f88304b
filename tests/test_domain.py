"""The domain: ids, identities, status rules, text cleaning, lossless codec."""

from __future__ import annotations

import pytest

from agentdesk.domain import (
    EVENT_TYPES,
    Assignment,
    Attachment,
    CallRecord,
    Customer,
    DeliveryState,
    Direction,
    Event,
    Handoff,
    Identity,
    IdFactory,
    IllegalTransition,
    Message,
    Note,
    OutboxEntry,
    Priority,
    Status,
    StatusChange,
    SurveyAnswer,
    Task,
    TaskUpdate,
    Transfer,
    Whisper,
    check_transition,
    id_time,
)
from agentdesk.domain.codec import (
    CodecError,
    decode,
    encode,
    from_builtins,
    to_builtins,
)
from agentdesk.domain.text import clean_text, one_line


def test_ids_sort_by_time_and_stay_monotonic_within_a_millisecond():
    now = [1_790_000_000.0]
    factory = IdFactory(lambda: now[0])
    same_ms = [factory.new() for _ in range(1000)]
    now[0] += 0.5
    later = factory.new()
    now[0] -= 10  # the clock steps back: order still holds
    after_step = factory.new()
    ids = [*same_ms, later, after_step]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 26 for i in ids)
    assert id_time(same_ms[0]) == 1_790_000_000.0
    assert id_time(later) == 1_790_000_000.5
    # The random part is 16 digits of the id's alphabet, carried across digits.
    factory._last_random = (1 << 50) - 1
    carried = factory.new()
    assert carried[10:] == "00000" + "1" + "0" * 10
    assert set("".join(ids)) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@pytest.mark.parametrize(
    "kind, raw, normal",
    [
        ("email", " Ana.Lima@Example.COM ", "ana.lima@example.com"),
        ("phone", "+33 (6) 12-34-56-78", "+33612345678"),
        ("phone", "06 12 34 56 78", "0612345678"),
        ("social", "@Elodie_B", "elodie_b"),
        ("chat", "Session-XYZ", "Session-XYZ"),
    ],
)
def test_identities_normalise(kind, raw, normal):
    assert Identity.of(kind, raw) == Identity(kind, normal)


def test_status_rules():
    check_transition(1, Status.OPEN, Status.PENDING)
    check_transition(1, Status.PENDING, Status.PENDING)  # a new snooze time
    check_transition(1, Status.CLOSED, Status.OPEN)
    with pytest.raises(IllegalTransition, match="#7 is already closed"):
        check_transition(7, Status.CLOSED, Status.CLOSED)
    with pytest.raises(IllegalTransition, match="reopen it"):
        check_transition(7, Status.CLOSED, Status.PENDING)


def test_priorities_rank():
    assert sorted(Priority, key=lambda p: p.rank) == [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
    ]


def test_clean_text_strips_what_drives_a_terminal():
    dirty = (
        "a\x1b[2J\x1b[31mb\x1b]0;title\x07c\x1b]8;;http://x\x1b\\d\x9b1me\x00f\r\ng\rh"
        "\x1bPq#0;2;0;0;0\x1b\\i\u202ej\ud83dk"
    )
    assert clean_text(dirty) == "abcdef\ng\nhi j\ufffdk".replace(" ", "")


def test_an_unterminated_sequence_loses_its_introducer_not_the_text_after_it():
    assert clean_text("Hello \x1b] my order 123") == "Hello  my order 123"
    assert clean_text("Hello \x1bP my order 123") == "Hello  my order 123"
    assert clean_text("a\x1b]52;c;SGVsbG8=\x07b") == "ab"  # a whole OSC 52 still goes


def test_invisible_characters_policy():
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore the agent")
    assert clean_text(f"refund{hidden} please") == "refund please"  # tag characters go
    kept = "a\u200eb\u200fc\u061cd\u200be\u200df 👩\u200d👩\u200d👧"  # LRM RLM ALM ZWSP ZWJ
    assert clean_text(kept) == kept


def test_clean_text_keeps_what_people_write():
    text = "Élodie — 東京 ✓ 👍🏽 مرحبا [bold]x[/] \t tab\nline"
    assert clean_text(text) == text


def test_clean_text_bounds_size_and_says_so():
    cleaned = clean_text("y" * 1000, max_chars=100)
    assert cleaned.startswith("y" * 100)
    assert "about 900 more characters not shown" in cleaned


def test_one_line():
    assert one_line("  a\n\n b\tc ", 10) == "a b c"
    assert one_line("abcdefghijkl", 5) == "abcd…"


def _every_object():
    base = {"task_id": "T", "customer_id": "C", "at": 1.5, "actor": "ana"}
    events = [
        Message(
            id="E1",
            **base,
            direction=Direction.OUTBOUND,
            channel="mail",
            channel_kind="email",
            text="hi",
            html="<p>hi</p>",
            subject="s",
            external_id="<x@y>",
            thread_ref="<r@y>",
            identity="email:a@b.co",
            attachments=[Attachment("a.pdf", "application/pdf", 12, "att/a.pdf")],
            delivery=DeliveryState.FAILED,
            delivery_error="refused",
            idempotency_key="K",
        ),
        Note(id="E2", **base, text="internal"),
        Whisper(id="E2w", **base, text="psst", to="sam"),
        StatusChange(id="E3", **base, old="open", new="pending", pending_until=9.0),
        Assignment(id="E4", **base, old_assignee=None, new_assignee="bob"),
        Transfer(id="E5", **base, new_team="billing", note="n"),
        Handoff(id="E6", **base, from_channel="chat", to_channel="mail", context="ctx"),
        TaskUpdate(id="E7", **base, field="tags", old=[], new=["vip"]),
        CallRecord(id="E8", **base, direction=Direction.INBOUND, channel="tel", outcome="missed"),
        SurveyAnswer(id="E9", **base, metric="ces", score=3, comment="ok"),
    ]
    assert {e.kind for e in events} == set(EVENT_TYPES)
    task = Task(
        id="T",
        number=1042,
        customer_id="C",
        status=Status.PENDING,
        priority=Priority.URGENT,
        tags=["a"],
        skills=["fr"],
        pending_until=5.0,
    )
    customer = Customer(
        id="C", name="Ana", identities=[Identity("email", "a@b.co")], attributes={"plan": "pro"}
    )
    return customer, task, events, OutboxEntry(key="K", event_id="E1", task_id="T", channel="mail")


def test_codec_round_trips_every_object():
    customer, task, events, entry = _every_object()
    for cls, obj in [(Customer, customer), (Task, task), (OutboxEntry, entry)] + [
        (Event, event) for event in events
    ]:
        assert from_builtins(cls, to_builtins(obj)) == obj
        assert decode(cls, encode(obj)) == obj
        assert type(decode(cls, encode(obj))) is type(obj)
    assert {to_builtins(event)["kind"] for event in events} == set(EVENT_TYPES)


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_codec_refuses_a_time_that_would_not_read_back(value):
    _, task, _, _ = _every_object()
    task.updated_at = value
    with pytest.raises(CodecError, match="cannot be saved"):
        encode(task)


def test_codec_refuses_text_no_file_can_hold():
    customer, _, _, _ = _every_object()
    customer.name = "Ana \ud800"
    with pytest.raises(CodecError, match="cannot be saved"):
        encode(customer)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "telepathy", "id": "x"}, "Invalid value 'telepathy'"),
        ({"kind": "note", "id": "x", "task_id": "t", "customer_id": "c", "at": 1}, "`text`"),
        (
            {
                "kind": "note",
                "id": "x",
                "task_id": "t",
                "customer_id": "c",
                "at": 1,
                "text": "",
                "colour": "red",
            },
            "unknown field `colour`",
        ),
    ],
)
def test_codec_rejects_what_it_cannot_read(data, message):
    with pytest.raises(CodecError, match=message):
        from_builtins(Event, data)
    with pytest.raises(CodecError, match=r"Task: Invalid enum value 'done' - at `\$.status`"):
        from_builtins(Task, {"id": "t", "number": 1, "customer_id": "c", "status": "done"})


def test_one_line_of_a_long_text_reads_only_what_it_shows() -> None:
    """Folding only a prefix of a long text gives what folding the whole gives."""
    import random

    from agentdesk.domain.text import one_line

    def whole(text: str, width: int) -> str:
        folded = " ".join(text.split())
        return folded[: max(0, width - 1)] + "…" if len(folded) > width else folded

    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice("ab \n\t  c") for _ in range(rng.choice([0, 90, 600, 2500])))
        width = rng.choice([0, 1, 10, 80, 120, 200])
        assert one_line(text, width) == whole(text, width)
    # Whitespace beyond the prefix still folds away.
    assert one_line("a" + " " * 10_000 + "b", 120) == "a b"
