"""Drain, health and metrics: a hub shutting down finishes what is in flight,
refuses new commands, tells consoles it restarts, and says so on /healthz."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agentdesk.api import ErrorCode, Role
from agentdesk.api import requests as rq
from agentdesk.api.wire import CLOSE_RESTARTING, Bye, Error, Result, call_frame
from agentdesk.remote import LinkState

from .conftest import recv, until, until_closed


async def test_drain_finishes_the_command_in_flight_refuses_new_ones_and_closes(
    served, monkeypatch
):
    task = await served.write_in("a@b.co", "hello")
    ws = await served.welcomed(await served.token("ana"))
    # The first note is held inside the desk until the test lets it go.
    handle = served.desk.handle
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(actor, request, *, command_id=None):
        if isinstance(request, rq.AddNote) and not entered.is_set():
            entered.set()
            await release.wait()
        return await handle(actor, request, command_id=command_id)

    monkeypatch.setattr(served.desk, "handle", held)
    async with httpx.AsyncClient(base_url=served.base) as http:
        before = await http.get("/healthz")
        assert before.status_code == 200 and before.json()["status"] == "ok"

        await ws.send(call_frame("in-flight", rq.AddNote(task_id=task.id, text="slow")))
        await asyncio.wait_for(entered.wait(), 5)
        drain = asyncio.create_task(served.hub.drain(timeout=5))
        await until(lambda: not served.hub.accepting, what="the hub draining")

        # A new command is refused; a read is still answered.
        await ws.send(call_frame("late", rq.AddNote(task_id=task.id, text="late")))
        refused = await recv(ws)
        assert isinstance(refused, Error) and refused.id == "late"
        assert refused.code == ErrorCode.UNAVAILABLE and "restarting" in refused.message
        await ws.send(call_frame("read", rq.ListChannels()))
        read = await recv(ws)
        assert isinstance(read, Result) and read.id == "read"

        during = await http.get("/healthz")
        assert during.status_code == 503
        body = during.json()
        assert body["status"] == "unavailable" and "shutting down" in body["reason"]
        assert not drain.done()  # it waits for the note in flight

        release.set()
        frames, code = await until_closed(ws)
        await asyncio.wait_for(drain, 5)
    # The note was finished and answered before the goodbye, then the close.
    assert [type(f) for f in frames] == [Result, Bye]
    assert frames[0].id == "in-flight" and frames[1].reason == "restarting"
    assert code == CLOSE_RESTARTING
    events = served.desk.store.events_of_task(task.id)
    assert [e.text for e in events if getattr(e, "text", None) in ("slow", "late")] == ["slow"]
    assert served.hub.sessions == set()


async def test_a_remote_command_refused_by_a_draining_hub_is_applied_after_restart(
    served, monkeypatch
):
    task = await served.write_in("a@b.co", "hello")
    links: list[LinkState] = []
    client = await served.remote("ana", on_link=lambda link: links.append(link.state))
    handle = served.desk.handle
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(actor, request, *, command_id=None):
        if isinstance(request, rq.AddNote) and not entered.is_set():
            entered.set()
            await release.wait()
        return await handle(actor, request, command_id=command_id)

    monkeypatch.setattr(served.desk, "handle", held)
    first = asyncio.create_task(client.note(task.id, "in flight"))
    await asyncio.wait_for(entered.wait(), 5)
    drain = asyncio.create_task(served.hub.drain(timeout=5))
    await until(lambda: not served.hub.accepting, what="the hub draining")

    # The hub refuses it (unavailable: "sent again once the console reconnects")...
    during = asyncio.create_task(client.note(task.id, "during drain"))
    await until(lambda: len(client.journal) == 2, what="the second note journaled")
    await client.channels()  # answered after the refusal: the client has read it
    refusals = served.hub.metrics.registry.get_sample_value(
        "agentdesk_request_seconds_count", {"op": "note", "outcome": "refused"}
    )
    assert refusals == 1
    # ...and the client keeps it for then, instead of failing it.
    assert not during.done() and len(client.journal) == 2

    release.set()
    assert (await asyncio.wait_for(first, 5)).text == "in flight"
    await asyncio.wait_for(drain, 5)
    await until(lambda: client.link.state == LinkState.OFFLINE, what="the link offline")
    await served.stop()
    await served.start()  # the restarted hub, same port, same desk

    note = await asyncio.wait_for(during, 10)
    assert note.text == "during drain" and len(client.journal) == 0
    texts = [getattr(e, "text", None) for e in served.desk.store.events_of_task(task.id)]
    assert texts.count("in flight") == 1 and texts.count("during drain") == 1
    assert links[-1] == LinkState.ONLINE


async def test_metrics_are_prometheus_text_with_the_hub_figures(served):
    client = await served.remote("ana", Role.LEAD)
    task = await served.write_in("a@b.co", "hello")
    await client.note(task.id, "counted")
    async with httpx.AsyncClient(base_url=served.base) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    expected = {
        "agentdesk_updates",
        "agentdesk_request_seconds",
        "agentdesk_hellos",
        "agentdesk_consoles",
        "agentdesk_outbox_depth",
        "agentdesk_inbound_queue",
        "agentdesk_channel_state",
        "agentdesk_store_seq",
    }
    assert expected <= set(families)

    def sample(family: str, name: str, **labels: str) -> float:
        found = [
            s.value
            for s in families[family].samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert len(found) == 1, (family, name, labels, families[family].samples)
        return found[0]

    assert sample("agentdesk_consoles", "agentdesk_consoles", role="lead") == 1
    assert sample("agentdesk_consoles", "agentdesk_consoles", role="agent") == 0
    assert sample("agentdesk_hellos", "agentdesk_hellos_total", outcome="welcomed") == 1
    count = "agentdesk_request_seconds_count"
    assert sample("agentdesk_request_seconds", count, op="note", outcome="ok") == 1
    assert sample("agentdesk_store_seq", "agentdesk_store_seq") == served.desk.store.seq
    state = sample("agentdesk_channel_state", "agentdesk_channel_state", channel="mail", state="up")
    assert state == 1
