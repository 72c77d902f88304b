"""Web chat building blocks: protocol frames, session tokens, origins, rate limit, log."""

from __future__ import annotations

import json

import pytest
from agentdesk_webchat import protocol
from agentdesk_webchat.history import AGENT, VISITOR, History
from agentdesk_webchat.origins import OriginPolicy, check_origins
from agentdesk_webchat.ratelimit import KeyedBuckets, TokenBucket
from agentdesk_webchat.sessions import (
    TokenSigner,
    is_session_id,
    load_signer,
    new_session_id,
)
from fixed_clock import Clock

from agentdesk.plugin import PluginConfigError
from agentdesk.plugin.testing import MemoryState

# -- protocol ---------------------------------------------------------------


def parse(frame: object, max_chars: int = 100) -> protocol.ClientFrame:
    return protocol.parse_client_frame(json.dumps(frame), max_chars=max_chars)


def test_client_frames_parse() -> None:
    assert parse({"type": "hello", "token": None, "last_seq": 3}) == protocol.Hello(None, 3)
    assert parse({"type": "hello"}) == protocol.Hello(None, 0)
    assert parse({"type": "message", "id": "a-1", "text": "hi"}) == protocol.ChatText("a-1", "hi")
    assert parse({"type": "typing", "typing": False}) == protocol.Typing(False)
    assert parse({"type": "ack", "seq": 4, "read": True}) == protocol.Ack(4, True)
    assert parse({"type": "ping"}) == protocol.Ping()
    assert parse(
        {"type": "identify", "name": "  Ada   Lovelace ", "email": " Ada@Example.COM "}
    ) == (protocol.Identify("Ada Lovelace", "ada@example.com"))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"type": "shout"}', "bad_request"),
        ('{"type": "message", "id": "<b>", "text": "x"}', "bad_request"),
        ('{"type": "message", "id": "a", "text": 5}', "bad_request"),
        ('{"type": "message", "id": "a", "text": "   "}', "empty"),
        ('{"type": "message", "id": "a", "text": "' + "x" * 11 + '"}', "too_long"),
        ('{"type": "hello", "last_seq": -1}', "bad_request"),
        ('{"type": "hello", "last_seq": true}', "bad_request"),
        ('{"type": "hello", "token": 7}', "bad_request"),
        ('{"type": "identify", "email": "not an address"}', "bad_email"),
        ('{"type": "identify", "email": "a@b.c<script>"}', "bad_email"),
        ('{"type": "identify"}', "bad_email"),
        ('{"type": "identify", "name": "' + "n" * 101 + '"}', "bad_name"),
    ],
)
def test_bad_frames_are_refused_with_a_code(raw: str, code: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_client_frame(raw, max_chars=10)
    assert caught.value.code == code


def test_too_long_names_the_message_id_and_the_limit() -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        parse({"type": "message", "id": "m7", "text": "x" * 11}, max_chars=10)
    assert caught.value.client_id == "m7"
    assert "limit is 10" in str(caught.value)


def test_server_frames_are_json_with_text_as_is() -> None:
    frame = json.loads(
        protocol.message(seq=1, sender="agent", message_id="k", text="<b>&</b>", at=1.5)
    )
    assert frame == {
        "type": "message",
        "seq": 1,
        "from": "agent",
        "id": "k",
        "text": "<b>&</b>",
        "at": 1.5,
        "agent": "",
    }


# -- session tokens -----------------------------------------------------------


def test_tokens_verify_only_under_their_secret() -> None:
    signer = TokenSigner(b"s" * 32)
    session = new_session_id()
    assert is_session_id(session)
    token = signer.issue(session)
    assert signer.verify(token) == session
    assert TokenSigner(b"t" * 32).verify(token) is None
    other = new_session_id()
    forged = f"{other}.{token.rsplit('.', 1)[1]}"  # someone else's id, this signature
    assert signer.verify(forged) is None
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for junk in ("", ".", "chat-x.y", session, token + "x" * 300, "a.b.c"):
        assert signer.verify(junk) is None


def test_session_ids_are_unique_and_well_formed() -> None:
    ids = {new_session_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(is_session_id(i) for i in ids)
    assert not is_session_id("contract-check-session")


async def test_generated_secret_is_kept_in_state() -> None:
    state = MemoryState()
    first = await load_signer("", state)
    token = first.issue(new_session_id())
    again = await load_signer("", state)  # a restart with the same state
    assert again.verify(token) is not None
    assert (await load_signer("", MemoryState())).verify(token) is None


async def test_configured_secret_wins_and_must_be_long_enough() -> None:
    token = (await load_signer("x" * 20, MemoryState())).issue(new_session_id())
    assert (await load_signer("x" * 20, MemoryState())).verify(token) is not None
    with pytest.raises(PluginConfigError):
        await load_signer("short", MemoryState())


# -- origins -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "origin", "host", "public", "ok"),
    [
        ((), "http://127.0.0.1:8000", "127.0.0.1:8000", None, True),
        ((), "http://127.0.0.1:8001", "127.0.0.1:8000", None, False),
        ((), "https://desk.example.com", "desk.example.com", None, True),
        ((), "https://Desk.Example.com:443", "desk.example.com", None, True),
        ((), "https://evil.example", "desk.example.com", None, False),
        ((), None, "desk.example.com", None, False),
        ((), "null", "desk.example.com", None, False),
        # Behind a proxy that rewrites Host, the public URL names the desk.
        ((), "https://chat.example.com", "127.0.0.1:8080", "https://chat.example.com/", True),
        (("https://shop.example",), "https://shop.example", "desk.example.com", None, True),
        (("https://shop.example",), "http://shop.example", "desk.example.com", None, False),
        (("*",), "https://anything.example", "desk.example.com", None, True),
        (("*",), None, "desk.example.com", None, False),
    ],
)
def test_origin_policy(
    allowed: tuple[str, ...], origin: str | None, host: str, public: str | None, ok: bool
) -> None:
    assert OriginPolicy(allowed).allows(origin, host, public) is ok


def test_frame_ancestors_follow_allowed_origins() -> None:
    assert OriginPolicy(()).frame_ancestors() == "'self'"
    assert OriginPolicy(("https://a.example/",)).frame_ancestors() == "'self' https://a.example"
    assert OriginPolicy(("*",)).frame_ancestors() == "*"


def test_allowed_origins_option_is_checked() -> None:
    assert check_origins(("https://a.example", "http://b.example:8080", "*")) is None
    assert check_origins(("https://a.example/path",)) is not None
    assert check_origins(("a.example",)) is not None
    assert check_origins(("https://a.example; script-src *",)) is not None


# -- rate limit -----------------------------------------------------------------


def test_token_bucket_bursts_then_refills() -> None:
    clock = Clock(1000.0)
    bucket = TokenBucket(per_minute=6, burst=2, clock=clock)
    assert bucket.take() and bucket.take()
    assert not bucket.take()
    assert bucket.retry_after() == pytest.approx(10.0)
    clock.now += 10
    assert bucket.take()
    assert not bucket.take()
    clock.now += 1000
    assert bucket.full()


def test_keyed_buckets_limit_each_key_and_stay_bounded() -> None:
    clock = Clock(1000.0)
    buckets = KeyedBuckets(per_minute=1, burst=1, max_keys=3, clock=clock)
    assert buckets.take("a") and not buckets.take("a")
    assert buckets.take("b")
    for key in ("c", "d", "e", "f"):
        buckets.take(key)
    assert len(buckets) <= 3


# -- the session log --------------------------------------------------------------


async def test_log_numbers_entries_and_keeps_the_newest() -> None:
    state = MemoryState()
    history = History(state, limit=10, clock=Clock(1000.0))
    session = new_session_id()
    async with history.locked(session) as missing:
        assert missing is None
    async with history.locked(session, create=True) as record:
        assert record is not None
        for n in range(15):
            sender = VISITOR if n % 2 else AGENT
            await history.append(record, sender, f"m{n}", f"text {n}")
    assert [e.seq for e in record.entries] == list(range(6, 16))
    assert record.since(13) == record.entries[-2:]
    assert record.find(AGENT, "m14") is record.entries[-1]
    assert record.find(VISITOR, "m14") is None
    assert f"entry:{session}:5" not in state.values  # pruned from state too
    assert f"entry:{session}:6" in state.values

    reloaded = History(state, limit=10).get(session)
    assert reloaded is not None
    assert [e.to_json() for e in reloaded.entries] == [e.to_json() for e in record.entries]
    assert reloaded.next_seq == 16


async def test_receipts_never_pass_the_log() -> None:
    history = History(MemoryState())
    async with history.locked(new_session_id(), create=True) as record:
        assert record is not None
        await history.append(record, AGENT, "k", "hello")
        assert await history.mark(record, 99, read=False)
        assert (record.delivered_seq, record.read_seq) == (1, 0)
        assert await history.mark(record, 1, read=True)
        assert not await history.mark(record, 1, read=True)


async def test_idle_sessions_leave_memory_but_connected_ones_stay() -> None:
    state = MemoryState()
    history = History(state, cache_size=2)
    sessions = [new_session_id() for _ in range(4)]
    history.pin(sessions[0])
    for session in sessions:
        async with history.locked(session, create=True) as record:
            assert record is not None
            await history.append(record, VISITOR, "a", "hi")
    cached = history._cache
    assert sessions[0] in cached and len(cached) <= 3
    # An evicted session comes back from state intact.
    record = history.get(sessions[1])
    assert record is not None and record.entries[0].text == "hi"
