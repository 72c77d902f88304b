"""Reconnecting and exactly once: a command made while the hub is away waits in
the journal and is applied once it is back; a command whose answer was lost is
sent again with its id and applied once."""

from __future__ import annotations

import asyncio
import json

from agentdesk.api import requests as rq
from agentdesk.api.wire import CLOSE_RESTARTING, Result, call_frame
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.domain import Note
from agentdesk.remote import LinkState

from .conftest import recv, until


def notes(served, task_id: str, text: str) -> int:
    """Notes with ``text`` on the task, as the store has them."""
    thread = served.desk.store.events_of_task(task_id)
    return sum(1 for e in thread if isinstance(e, Note) and e.text == text)


async def test_a_command_made_while_the_hub_restarts_is_applied_once_after(served):
    task = await served.write_in("a@b.co", "hello")
    links: list[LinkState] = []
    client = await served.remote("ana", on_link=lambda link: links.append(link.state))
    assert client.link.state == LinkState.ONLINE

    await served.stop()  # the hub goes away; the desk (its store) stays
    await until(lambda: client.link.state == LinkState.OFFLINE, what="the link offline")
    pending = asyncio.create_task(client.note(task.id, "made offline"))
    await until(lambda: len(client.journal) == 1, what="the note journaled")
    assert client.link.state == LinkState.OFFLINE and client.link.queued == 1
    assert not pending.done() and notes(served, task.id, "made offline") == 0

    await served.start()  # the same port, a new server and hub, the same desk
    note = await asyncio.wait_for(pending, 10)
    assert note.text == "made offline"
    assert client.link.state == LinkState.ONLINE and len(client.journal) == 0
    assert notes(served, task.id, "made offline") == 1
    # It went offline and came back by itself; reads work again.
    assert LinkState.OFFLINE in links and links[-1] == LinkState.ONLINE
    thread = await client.thread(task.id)
    assert [e.text for e in thread if isinstance(e, Note)] == ["made offline"]


async def test_the_desk_applies_a_command_id_once(served):
    task = await served.write_in("a@b.co", "hello")
    actor = (await served.desk.handle(DESK_ACTOR, rq.AddAgent(name="ana"))).agent.actor
    note = rq.AddNote(task_id=task.id, text="once")
    first = await served.desk.handle(actor, note, command_id="cmd-1")
    again = await served.desk.handle(actor, note, command_id="cmd-1")
    assert again == first and notes(served, task.id, "once") == 1
    # Another id is another command.
    await served.desk.handle(actor, note, command_id="cmd-2")
    assert notes(served, task.id, "once") == 2


async def test_a_call_resent_on_a_new_connection_is_applied_once(served):
    task = await served.write_in("a@b.co", "hello")
    token = await served.token("ana")
    first = await served.welcomed(token)
    await first.send(call_frame("lost-answer", rq.AddNote(task_id=task.id, text="x")))
    await until(lambda: notes(served, task.id, "x") == 1, what="the note applied")
    await first.close()  # gone before reading the answer
    second = await served.welcomed(token)
    await second.send(call_frame("lost-answer", rq.AddNote(task_id=task.id, text="x")))
    answer = await recv(second)
    assert isinstance(answer, Result) and answer.id == "lost-answer"
    assert json.loads(bytes(answer.value))["text"] == "x"
    assert notes(served, task.id, "x") == 1


async def test_a_remote_command_whose_answer_was_lost_is_resent_and_applied_once(
    served, monkeypatch
):
    task = await served.write_in("a@b.co", "hello")
    client = await served.remote("ana")
    # The hub applies the first note, then loses the connection before answering.
    handle = served.desk.handle
    ids: list[str | None] = []
    applied = asyncio.Event()

    async def handle_then_hang(actor, request, *, command_id=None):
        ids.append(command_id)
        answer = await handle(actor, request, command_id=command_id)
        if len(ids) == 1:
            applied.set()
            await asyncio.Event().wait()  # never answers: the connection goes first
        return answer

    monkeypatch.setattr(served.desk, "handle", handle_then_hang)
    pending = asyncio.create_task(client.note(task.id, "answer lost"))
    await asyncio.wait_for(applied.wait(), 5)
    assert notes(served, task.id, "answer lost") == 1 and len(client.journal) == 1
    (session,) = served.hub.sessions
    session.close(CLOSE_RESTARTING, "restarting", "the hub is restarting")

    note = await asyncio.wait_for(pending, 10)  # reconnected and resent by itself
    assert note.text == "answer lost"
    assert len(ids) == 2 and ids[0] == ids[1] is not None  # the same id both times
    assert notes(served, task.id, "answer lost") == 1
    assert len(client.journal) == 0
