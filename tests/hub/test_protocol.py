"""Protocol faults seen from outside: what a console that says the wrong thing
gets back (the frame and the close code), and that the hub goes on serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets

import pytest
from websockets.exceptions import ConnectionClosed

from agentdesk.api import DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.wire import (
    CLOSE_PROTOCOL,
    CLOSE_REFUSED,
    MAX_FRAME,
    PROTOCOL_VERSION,
    Bye,
    Error,
    Refused,
    Result,
    Subscribe,
    call_frame,
    encode_frame,
)
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.core.hub import server
from agentdesk.remote import LinkState

from .conftest import hello, recv, until_closed

#: A websocket close code of RFC 6455: the message is larger than the peer takes.
MESSAGE_TOO_BIG = 1009


async def refused(ws) -> tuple[Refused, int | None]:
    """The one refusal the hub sends before closing, and its close code."""
    frames, code = await until_closed(ws)
    assert len(frames) == 1 and isinstance(frames[0], Refused), frames
    return frames[0], code


# --- before welcome ---------------------------------------------------------------


async def test_garbage_before_hello_is_refused_with_the_protocol_code(served):
    ws = await served.socket()
    await ws.send("this is not json {")
    refusal, code = await refused(ws)
    assert refusal.code == ErrorCode.INVALID and "unreadable hello" in refusal.message
    assert code == CLOSE_PROTOCOL


async def test_a_frame_other_than_hello_first_is_refused(served):
    ws = await served.socket()
    await ws.send(encode_frame(Subscribe(since=0)).decode())
    refusal, code = await refused(ws)
    assert refusal.code == ErrorCode.INVALID and "hello first" in refusal.message
    assert "subscribe" in refusal.message
    assert code == CLOSE_PROTOCOL


async def test_another_protocol_version_is_refused_naming_both(served):
    token = await served.token("ana")
    ws = await served.socket()
    await ws.send(hello(token, protocol=PROTOCOL_VERSION + 41))
    refusal, code = await refused(ws)
    assert refusal.code == ErrorCode.INVALID
    assert f"protocol {PROTOCOL_VERSION + 41}" in refusal.message
    assert f"speaks {PROTOCOL_VERSION}" in refusal.message
    assert code == CLOSE_REFUSED
    # The token was good: the version alone is the reason.
    assert served.hub.sessions == set()


async def test_unknown_and_revoked_tokens_are_refused_and_never_logged(served, caplog):
    caplog.set_level(logging.DEBUG, logger="agentdesk")
    caplog.set_level(logging.INFO, logger="uvicorn")
    revoked = await served.token("bob")
    await served.desk.handle(DESK_ACTOR, rq.RevokeAgent(name="bob"))
    unknown = "adk_" + secrets.token_urlsafe(24)
    for token in (unknown, revoked):
        ws = await served.socket()
        await ws.send(hello(token))
        refusal, code = await refused(ws)
        assert refusal.code == ErrorCode.FORBIDDEN, refusal
        assert code == CLOSE_REFUSED
        assert token not in refusal.message
    refusals = [r for r in caplog.records if "refused a console" in r.getMessage()]
    assert len(refusals) == 2  # the log was captured, and says it...
    for token in (unknown, revoked):  # ...without any run of the token's secret part
        secret = token.removeprefix("adk_")
        pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
        assert not [p for p in pieces if p in caplog.text]


async def test_a_console_silent_past_the_hello_time_is_refused(served, monkeypatch):
    monkeypatch.setattr(server, "HELLO_SECONDS", 0.2)
    ws = await served.socket()
    refusal, code = await refused(ws)
    assert refusal.code == ErrorCode.INVALID
    assert "no hello within 0.2 s" in refusal.message
    assert code == CLOSE_REFUSED


async def test_failed_hellos_from_one_address_are_rate_limited(served, monkeypatch):
    monkeypatch.setattr(server, "FAILED_HELLOS", 3)
    good = await served.token("ana")
    for _ in range(3):
        ws = await served.socket()
        await ws.send(hello("adk_wrong"))
        refusal, _code = await refused(ws)
        assert refusal.code == ErrorCode.FORBIDDEN
    # Now even a good token from that address waits out the window (the hub
    # refuses before reading it: the hello may meet a closed connection).
    ws = await served.socket()
    with contextlib.suppress(ConnectionClosed):
        await ws.send(hello(good))
    refusal, code = await refused(ws)
    assert refusal.code == ErrorCode.RATE_LIMITED and code == CLOSE_REFUSED
    assert served.hub.sessions == set()


# --- after welcome ----------------------------------------------------------------


async def test_an_unreadable_frame_after_welcome_closes_with_the_protocol_code(served):
    ws = await served.welcomed(await served.token("ana"))
    await ws.send("][")
    frames, code = await until_closed(ws)
    assert [type(f) for f in frames] == [Bye] and frames[0].reason == "protocol"
    assert code == CLOSE_PROTOCOL


async def test_a_hub_only_frame_from_a_console_closes_with_the_protocol_code(served):
    ws = await served.welcomed(await served.token("ana"))
    await ws.send(encode_frame(Refused(code=ErrorCode.INVALID, message="no")).decode())
    frames, code = await until_closed(ws)
    assert [type(f) for f in frames] == [Bye] and "Refused" in frames[0].message
    assert code == CLOSE_PROTOCOL


async def test_a_malformed_call_is_answered_by_its_id_and_the_session_goes_on(served):
    task = await served.write_in("a@b.co", "hello")
    ws = await served.welcomed(await served.token("ana"))
    bad = {"type": "call", "id": "c-1", "request": {"op": "note", "task_id": 5}}
    await ws.send(json.dumps(bad))
    answer = await recv(ws)
    assert isinstance(answer, Error) and answer.id == "c-1", answer
    assert answer.code == ErrorCode.INVALID and "task_id" in answer.message
    unknown_op = {"type": "call", "id": "c-2", "request": {"op": "no_such_op"}}
    await ws.send(json.dumps(unknown_op))
    answer = await recv(ws)
    assert isinstance(answer, Error) and answer.id == "c-2" and answer.code == ErrorCode.INVALID
    # Still usable: a good call is applied and answered.
    await ws.send(call_frame("c-3", rq.AddNote(task_id=task.id, text="still here")))
    answer = await recv(ws)
    assert isinstance(answer, Result) and answer.id == "c-3", answer
    assert json.loads(bytes(answer.value))["text"] == "still here"
    assert len(served.hub.sessions) == 1


async def test_an_oversize_frame_closes_with_message_too_big(served):
    ws = await served.welcomed(await served.token("ana"))
    # Valid JSON of a valid call but for its size: only the size is at fault.
    note = rq.AddNote(task_id="t", text="x" * (MAX_FRAME + 1))
    await ws.send(call_frame("big", note))
    frames, code = await until_closed(ws)
    assert not any(isinstance(f, Result | Error) for f in frames), frames
    assert code == MESSAGE_TOO_BIG
    # The hub serves the next console as usual.
    again = await served.welcomed(await served.token("bob", Role.AGENT))
    await again.send(call_frame("c", rq.ListChannels()))
    assert isinstance(await recv(again), Result)


async def test_remote_client_refuses_an_oversize_command_instead_of_resending_it(served):
    # Sent, it would close the connection, and the journal would resend it on
    # every reconnect: the client says no before it goes anywhere.
    task = await served.write_in("a@b.co", "hello")
    client = await served.remote("ana")
    with pytest.raises(DeskError) as caught:
        await asyncio.wait_for(client.note(task.id, "x" * (MAX_FRAME + 1)), 5)
    assert caught.value.code == ErrorCode.INVALID and "too large" in caught.value.message
    assert len(client.journal) == 0 and client.link.state == LinkState.ONLINE
    assert (await client.note(task.id, "short")).text == "short"
