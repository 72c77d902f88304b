"""Whispers: a lead's note for the task's agent alone (and the leads), never
the customer's, nor another agent's, in the stream, the thread and search."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from agentdesk.api import Actor, DeskError, ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.domain import Whisper
from agentdesk.plugin import InboundMessage

LEA = Actor(agent="lea", role=Role.LEAD)
SAM = Actor(agent="sam", role=Role.AGENT)
AL = Actor(agent="al", role=Role.AGENT)


async def events_in(stream) -> list[str]:
    """The ids of the events a subscriber was sent, until the stream is quiet."""
    ids = []
    with contextlib.suppress(TimeoutError):
        while True:
            published = await asyncio.wait_for(anext(stream), 0.2)
            ids += [e.id for e in published.update.events]
    return ids


async def assigned_to_sam(desk):
    task = (await desk.ingest("chat", InboundMessage("v1", "my parcel is late"))).task
    await desk.handle(LEA, rq.Assign(task_id=task.id, assignee="sam"))
    return task


async def test_a_whisper_reaches_the_agent_and_the_leads_alone(desk) -> None:
    task = await assigned_to_sam(desk)
    streams = {a.agent: desk.subscribe(a, desk.store.seq) for a in (LEA, SAM, AL)}
    note = await desk.handle(
        LEA, rq.AddNote(task_id=task.id, text="offer the voucher", whisper=True)
    )
    assert isinstance(note, Whisper) and note.to == "sam"
    seen = {name: await events_in(stream) for name, stream in streams.items()}
    assert note.id in seen["sam"] and note.id in seen["lea"]
    assert note.id not in seen["al"]
    thread = {a.agent: await desk.handle(a, rq.GetThread(task_id=task.id)) for a in (LEA, SAM, AL)}
    assert note.id in {e.id for e in thread["sam"]} and note.id in {e.id for e in thread["lea"]}
    assert note.id not in {e.id for e in thread["al"]}
    found = await desk.handle(AL, rq.Search(query="voucher"))
    assert found.hits == []


async def test_only_leads_whisper_and_only_to_an_assigned_task(desk) -> None:
    task = await assigned_to_sam(desk)
    with pytest.raises(DeskError) as refused:
        await desk.handle(SAM, rq.AddNote(task_id=task.id, text="psst", whisper=True))
    assert refused.value.code == ErrorCode.FORBIDDEN and "lead" in refused.value.message
    free = (await desk.ingest("chat", InboundMessage("v2", "hello"))).task
    with pytest.raises(DeskError, match="no agent to whisper to"):
        await desk.handle(LEA, rq.AddNote(task_id=free.id, text="psst", whisper=True))
