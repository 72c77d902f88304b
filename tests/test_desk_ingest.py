"""Ingest: identity resolution, duplicates, threading, reopening, bad input."""

from __future__ import annotations

import pytest

from agentdesk.core.desk import InboundRejected, LocalDeskClient
from agentdesk.domain import Message, Status, StatusChange
from agentdesk.plugin import InboundCall, InboundMessage, InboundSurvey


async def test_new_customer_new_task(desk):
    result = await desk.ingest(
        "mail", InboundMessage("Ana@Example.com", "My sofa is blue", customer_name="Ana Lima")
    )
    assert result.created_task
    assert result.task.number == 1001
    assert result.task.status == Status.OPEN
    assert result.task.unread and result.task.waiting_since is not None
    assert result.customer.name == "Ana Lima"
    assert str(result.customer.identities[0]) == "email:ana@example.com"
    assert desk.store.task_by_number(1001).subject == "My sofa is blue"


async def test_same_customer_threads_onto_open_task(desk):
    first = await desk.ingest("mail", InboundMessage("ana@example.com", "one"))
    second = await desk.ingest("mail", InboundMessage("ANA@example.com", "two"))
    assert second.task.id == first.task.id
    assert not second.created_task
    texts = [e.text for e in desk.store.events_of_task(first.task.id)]
    assert texts == ["one", "two"]


async def test_other_channel_makes_its_own_task_same_customer(desk):
    mail = await desk.ingest(
        "mail", InboundMessage("ana@example.com", "hi", other_identities=(("phone", "+33 6 12"),))
    )
    sms = await desk.ingest("sms", InboundMessage("+33612", "hi by sms"))
    assert sms.customer.id == mail.customer.id
    assert sms.task.id != mail.task.id
    assert {t.id for t in desk.store.tasks_of_customer(mail.customer.id)} == {
        mail.task.id,
        sms.task.id,
    }


async def test_duplicate_external_id_dropped(desk):
    await desk.ingest("mail", InboundMessage("a@b.co", "hello", external_id="<m1@x>"))
    again = await desk.ingest("mail", InboundMessage("a@b.co", "hello", external_id="<m1@x>"))
    assert again.duplicate
    assert desk.store.stats().events == 1


async def test_same_external_id_on_other_channel_is_not_a_duplicate(desk):
    await desk.ingest("mail", InboundMessage("a@b.co", "hello", external_id="42"))
    other = await desk.ingest("chat", InboundMessage("sess-1", "hello", external_id="42"))
    assert not other.duplicate


async def test_thread_ref_wins_over_customer_lookup(desk, client):
    first = await desk.ingest("mail", InboundMessage("a@b.co", "q", external_id="<root@x>"))
    # The same person writes from another address, quoting the thread.
    reply = await desk.ingest(
        "mail", InboundMessage("a.other@b.co", "more", thread_ref="<root@x>", external_id="<2@x>")
    )
    assert reply.task.id == first.task.id


async def test_task_number_hint_only_for_the_same_customer(desk):
    first = await desk.ingest("mail", InboundMessage("a@b.co", "q"))
    await LocalDeskClient(desk, "ana").set_status(first.task.id, Status.CLOSED)
    stranger = await desk.ingest("mail", InboundMessage("x@y.co", "hijack", task_number=1001))
    assert stranger.task.id != first.task.id


async def test_reopens_recently_closed_task(desk, clock):
    first = await desk.ingest("mail", InboundMessage("a@b.co", "q"))
    await LocalDeskClient(desk, "ana").set_status(first.task.id, Status.CLOSED)
    clock.advance(3600)
    again = await desk.ingest("mail", InboundMessage("a@b.co", "still broken"))
    assert again.task.id == first.task.id
    assert again.task.status == Status.OPEN
    kinds = [e.kind for e in desk.store.events_of_task(first.task.id)]
    assert kinds == ["message", "status", "status", "message"]


async def test_old_closed_task_not_reopened(desk, clock):
    first = await desk.ingest("mail", InboundMessage("a@b.co", "q"))
    await LocalDeskClient(desk, "ana").set_status(first.task.id, Status.CLOSED)
    clock.advance(8 * 86400)
    again = await desk.ingest("mail", InboundMessage("a@b.co", "new matter"))
    assert again.created_task and again.task.id != first.task.id


async def test_pending_task_reopens_when_customer_answers(desk):
    first = await desk.ingest("mail", InboundMessage("a@b.co", "q"))
    await LocalDeskClient(desk, "ana").set_status(first.task.id, Status.PENDING)
    again = await desk.ingest("mail", InboundMessage("a@b.co", "answer"))
    assert again.task.status == Status.OPEN
    change = [e for e in desk.store.events_of_task(first.task.id) if isinstance(e, StatusChange)]
    assert change[-1].actor == "customer"


async def test_hostile_text_is_cleaned(desk):
    hostile = "\x1b]52;c;ZXZpbA==\x07hi \x1b[31mred\x1b[0m\x00 [bold]x[/bold] \ud800 \u202eevil"
    result = await desk.ingest("chat", InboundMessage("sess", hostile, customer_name="\x1b[2J Bob"))
    text = result.event.text
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    assert "\u202e" not in text
    assert "[bold]x[/bold]" in text  # markup is the console's to escape, kept literally
    assert result.customer.name == "Bob"


async def test_huge_text_is_bounded(desk):
    result = await desk.ingest("mail", InboundMessage("a@b.co", "x" * 50_000_000))
    assert len(result.event.text) < 250_000
    assert "more characters not shown" in result.event.text


@pytest.mark.parametrize(
    "item, reason",
    [
        (InboundMessage("", "text"), "identity"),
        (InboundMessage("   ", "text"), "identity"),
        (InboundMessage(None, "text"), "identity"),  # type: ignore[arg-type]
        (InboundMessage("a@b.co", ""), "empty"),
        (InboundMessage("a@b.co", 42), "not text"),  # type: ignore[arg-type]
    ],
)
async def test_malformed_inbound_rejected(desk, item, reason):
    with pytest.raises(InboundRejected, match=reason):
        await desk.ingest("mail", item)
    assert desk.store.stats().events == 0


async def test_unknown_channel_rejected(desk):
    with pytest.raises(InboundRejected, match="unknown channel"):
        await desk.ingest("nope", InboundMessage("a@b.co", "x"))


async def test_call_record_and_survey(desk):
    call = await desk.ingest(
        "phone", InboundCall("+33 6 12 34 56 78", outcome="missed", customer_name="Élodie")
    )
    assert call.task.waiting_since is not None
    assert call.event.kind == "call"
    await LocalDeskClient(desk, "ana").set_status(call.task.id, Status.CLOSED)
    survey = await desk.ingest("phone", InboundSurvey("+33612345678", "ces", 2, comment="easy"))
    assert survey.task.id == call.task.id
    with pytest.raises(InboundRejected, match="outside"):
        await desk.ingest("phone", InboundSurvey("+33612345678", "csat", 9))
    with pytest.raises(InboundRejected, match="unknown customer"):
        await desk.ingest("phone", InboundSurvey("+4400000000", "nps", 9))


async def test_implausible_timestamp_replaced(desk, clock):
    result = await desk.ingest("mail", InboundMessage("a@b.co", "x", at=1.0))
    assert isinstance(result.event, Message)
    assert result.event.at == clock.now


async def test_ingest_many_plans_each_item_on_its_predecessors(desk):
    items = [
        InboundMessage("new@example.com", "first", external_id="1"),
        InboundMessage("new@example.com", "second", external_id="2"),
        InboundMessage("", "no identity"),
        InboundMessage("new@example.com", "first", external_id="1"),
    ]
    first, second, bad, dup = await desk.ingest_many("mail", items)
    assert first.created_task and second.task.id == first.task.id
    assert isinstance(bad, InboundRejected)
    assert dup.duplicate
    assert desk.store.stats().customers == 1
    assert [e.text for e in desk.store.events_of_task(first.task.id)] == ["first", "second"]


async def test_waiting_time_counts_from_when_the_customer_wrote(desk, clock):
    written = clock.now - 1800  # fetched half an hour late, after an outage
    result = await desk.ingest("mail", InboundMessage("a@b.co", "hello?", at=written))
    assert result.task.waiting_since == written
    assert result.task.created_at == written
    later = await desk.ingest("mail", InboundMessage("a@b.co", "again", at=written - 60))
    assert later.task.updated_at == written  # an older straggler does not move it back


async def test_new_address_with_a_known_one_joins_that_customer(desk):
    mail = await desk.ingest("mail", InboundMessage("amelie@example.fr", "refund?"))
    chat = await desk.ingest(
        "chat",
        InboundMessage(
            "visitor-1", "about my refund", other_identities=(("email", "Amelie@example.fr"),)
        ),
    )
    assert chat.customer.id == mail.customer.id
    assert chat.task.id != mail.task.id  # its own task, on the same customer's timeline
    kinds = sorted(str(i) for i in desk.store.get_customer(mail.customer.id).identities)
    assert kinds == ["chat:visitor-1", "email:amelie@example.fr"]


async def test_attributes_the_channel_learnt_are_kept_on_the_customer(desk):
    first = await desk.ingest(
        "chat",
        InboundMessage(
            "sess-1",
            "hello",
            attributes={"locale": "fr", "page": "/checkout", "\x1b[31mplan": "gold\x07", "": "x"},
        ),
    )
    customer = desk.store.get_customer(first.customer.id)
    assert customer.attributes == {"locale": "fr", "page": "/checkout", "plan": "gold"}
    await desk.ingest("chat", InboundMessage("sess-1", "still me", attributes={"locale": "en"}))
    customer = desk.store.get_customer(first.customer.id)
    assert customer.attributes["locale"] == "en" and customer.attributes["plan"] == "gold"
