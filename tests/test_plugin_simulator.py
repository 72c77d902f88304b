"""The traffic simulator: a deterministic world, journeys across channels, replies and surveys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentdesk.core.host.discovery import discover
from agentdesk.plugin import (
    ChannelConnectionError,
    InboundCall,
    InboundMessage,
    InboundSurvey,
    Outbound,
    PermanentDeliveryError,
    SurveyQuestion,
    TypingSignal,
)
from agentdesk.plugin.testing import MemoryState, RecordingContext

SIMULATOR = discover(entry_points=None).channels["simulator"]
KINDS = ("email", "chat", "sms", "social", "phone")


def context(tmp_path: Path, state: MemoryState | None = None, **options) -> RecordingContext:
    options = {"rate": 0, "reply_delay": 0, **options}
    return RecordingContext.for_channel(
        SIMULATOR, options, data_dir=tmp_path / "data", state=state, channel_name="sim"
    )


async def emitted(tmp_path: Path, count: int, **options) -> list:
    ctx = context(tmp_path, count=count, **options)
    channel = SIMULATOR(ctx)
    await channel.start()
    while channel.emitted < count:
        await asyncio.sleep(0)
    await channel.stop()
    return ctx.emitted


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_emits_its_own_items(tmp_path: Path, kind: str) -> None:
    items = await emitted(tmp_path, 20, kind=kind)
    content = [i for i in items if not isinstance(i, TypingSignal)]
    assert len(content) == 20
    expected = InboundCall if kind == "phone" else InboundMessage
    assert all(isinstance(i, expected) for i in content)
    assert len({i.external_id for i in content}) == 20
    if kind == "chat":
        assert sum(isinstance(i, TypingSignal) for i in items) == 20


async def test_same_seed_same_traffic(tmp_path: Path) -> None:
    first = await emitted(tmp_path / "a", 30, kind="sms", seed=5)
    again = await emitted(tmp_path / "b", 30, kind="sms", seed=5)
    other = await emitted(tmp_path / "c", 30, kind="sms", seed=6)
    assert first == again
    assert first != other


async def test_customers_come_back_on_other_channels_about_the_same_matter(
    tmp_path: Path,
) -> None:
    emails = await emitted(tmp_path / "e", 60, kind="email", seed=2)
    texts = await emitted(tmp_path / "s", 60, kind="sms", seed=2)
    phones = {phone for e in emails for kind, phone in e.other_identities if kind == "phone"}
    returning = [t for t in texts if t.identity in phones]
    assert returning, "no customer moved from email to sms"
    assert any("by email" in t.text or "par e-mail" in t.text for t in returning), (
        "the returning customer does not mention the earlier contact"
    )


async def test_names_and_languages_are_mixed(tmp_path: Path) -> None:
    items = await emitted(tmp_path, 80, kind="email", customers=200)
    names = {i.customer_name for i in items}
    assert any(ch in "".join(names) for ch in "éèëïöá")
    assert any(i.text.startswith("Bonjour") for i in items)
    assert any(i.text.startswith("Hello") for i in items)


async def test_a_restart_resumes_after_the_last_contact(tmp_path: Path) -> None:
    state = MemoryState()
    ctx = context(tmp_path, state=state, kind="social", count=0)
    channel = SIMULATOR(ctx)
    await channel.start()
    while channel.emitted < 7:
        await asyncio.sleep(0)
    await channel.stop()
    seen = {i.external_id for i in ctx.emitted}
    assert state.get("cursor") == channel.emitted

    again = context(tmp_path, state=state, kind="social", count=channel.emitted + 5)
    second = SIMULATOR(again)
    await second.start()
    while second.emitted < channel.emitted + 5:
        await asyncio.sleep(0)
    await second.stop()
    assert len(again.emitted) == 5
    # Only a contact cut short by stop() comes again (the desk drops the duplicate).
    assert len(seen & {i.external_id for i in again.emitted}) <= 1


async def test_replies_are_answered_and_surveys_too(tmp_path: Path) -> None:
    ctx = context(tmp_path, kind="email", count=1, seed=9)
    channel = SIMULATOR(ctx)
    await channel.start()
    first = await ctx.next_inbound(5)
    person = channel.world.person_for(first.identity)
    assert person is not None and person.email == first.identity

    def reply(key: str, text: str) -> Outbound:
        return Outbound(key, first.identity, text, "t1", 1042, subject="Votre commande")

    # Most customers answer an ordinary reply (some never do).
    answers = []
    for n in range(6):
        await channel.send(reply(f"k{n}", "We are looking into it."))
    for _ in range(5):  # let the answers (due after reply_delay = 0) go out
        await asyncio.sleep(0)
    while ctx.pending_inbound():
        answers.append(await ctx.next_inbound(1))
    assert answers and all(isinstance(a, InboundMessage) for a in answers)
    assert all(a.task_number == 1042 and a.thread_ref.startswith("sim-out-") for a in answers)

    # A survey by email is answered, most of the time, by a number in a reply.
    csat = SurveyQuestion("csat", "How satisfied are you?", 1, 5)
    for n in range(8):
        survey = Outbound(f"s{n}", first.identity, "How satisfied…", "t1", 1042, survey=(csat,))
        delivery = await channel.send(survey)
        assert await channel.send(survey) == delivery  # sent once
    for _ in range(5):
        await asyncio.sleep(0)
    numbers = []
    while ctx.pending_inbound():
        numbers.append(await ctx.next_inbound(1))
    assert 0 < len(numbers) < 8 and all(isinstance(a, InboundMessage) for a in numbers)
    assert all(1 <= int(a.text.split()[0]) <= 5 for a in numbers)
    await channel.stop()

    # A chat visitor clicks the inline rating instead.
    chat_ctx = context(tmp_path / "chat", kind="chat", count=1, seed=9)
    chat = SIMULATOR(chat_ctx)
    await chat.start()
    await chat_ctx.next_inbound(5)  # its one visitor's first message
    ces = SurveyQuestion("ces", "It was easy", 1, 7)
    for n in range(4):
        await chat.send(Outbound(f"c{n}", "sess-1", "It was easy", "t2", 7, survey=(csat, ces)))
    for _ in range(5):
        await asyncio.sleep(0)
    rated = []
    while chat_ctx.pending_inbound():
        rated.append(await chat_ctx.next_inbound(1))
    rated = [a for a in rated if isinstance(a, InboundSurvey)]  # not the visitor's own chat
    assert rated and all(a.task_number == 7 for a in rated)
    assert {a.metric for a in rated} == {"csat", "ces"}
    assert all(1 <= a.score <= (5 if a.metric == "csat" else 7) for a in rated)
    await chat.stop()


async def test_send_refuses_what_the_channel_cannot_take(tmp_path: Path) -> None:
    ctx = context(tmp_path, kind="sms", count=0)
    channel = SIMULATOR(ctx)
    outbound = Outbound("k", "+33600000000", "x" * 1601, "t", 1)
    with pytest.raises(ChannelConnectionError):
        await channel.send(outbound)
    await channel.start()
    with pytest.raises(PermanentDeliveryError, match="1601 characters; sms takes at most 1600"):
        await channel.send(outbound)
    await channel.stop()
    phone = SIMULATOR(context(tmp_path, kind="phone"))
    assert not phone.capabilities.outbound
    with pytest.raises(PermanentDeliveryError):
        await phone.send(outbound)


async def test_a_call_back_lands_as_an_outbound_call_record(tmp_path: Path) -> None:
    ctx = context(tmp_path, kind="phone", count=1, seed=4)
    channel = SIMULATOR(ctx)
    assert channel.capabilities.calls
    await channel.start()
    first = await ctx.next_inbound(5)
    said = await channel.call_back(first.identity, agent="ana", key="k1")
    assert said == f"your phone rings first (simulated), then {first.identity}"
    assert await channel.call_back(first.identity, agent="ana", key="k1") == (
        f"already calling {first.identity}"
    )
    record = await ctx.next_inbound(5)
    assert isinstance(record, InboundCall) and record.direction == "outbound"
    assert record.identity == first.identity and record.summary.startswith("Called back by ana")
    assert record.outcome in ("answered", "missed")
    await asyncio.sleep(0.05)
    assert not ctx.pending_inbound()  # one call for one key
    await channel.stop()
    with pytest.raises(ChannelConnectionError):
        await channel.call_back(first.identity, agent="ana", key="k2")
