"""A console closed while offline: its queued commands are on disk and are sent
at its next start, applied once; the journal file's damage is said, not fatal."""

from __future__ import annotations

import asyncio
import json

from agentdesk.api import requests as rq
from agentdesk.domain import Note
from agentdesk.remote import LinkState
from agentdesk.tui.local_docs.command_journal import DiskJournal

from .conftest import until

HUB = "ws://127.0.0.1:1/desk"


def test_entries_outlive_the_journal_in_order_and_answered_ones_go(tmp_path):
    path = tmp_path / "journal.json"
    journal = DiskJournal(path, HUB)
    for n in range(3):
        journal.add(f"id{n}", rq.AddNote(task_id="t", text=f"note {n}"))
    journal.done("id1")
    journal.close()
    again = DiskJournal(path, HUB)
    assert [(i, r.text) for i, r in again.pending()] == [("id0", "note 0"), ("id2", "note 2")]
    # Another hub's console keeps its own.
    assert DiskJournal(path, "wss://elsewhere/desk").pending() == []
    again.close()


def test_a_damaged_file_is_set_aside_and_said(tmp_path):
    path = tmp_path / "journal.json"
    path.write_text("{ not json", encoding="utf-8")
    journal = DiskJournal(path, HUB)
    assert journal.pending() == [] and "could not be read" in journal.warnings[0]
    assert list(tmp_path.glob("journal.json.damaged-*"))
    journal.add("x", rq.AddNote(task_id="t", text="still kept"))
    journal.close()
    assert [i for i, _ in DiskJournal(path, HUB).pending()] == ["x"]


def test_an_entry_this_version_cannot_read_is_said_and_dropped(tmp_path):
    path = tmp_path / "journal.json"
    journal = DiskJournal(path, HUB)
    journal.add("good", rq.AddNote(task_id="t", text="fine"))
    journal.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    table = next(iter(data.values()))
    table["99"] = {"id": "bad", "request": '{"op": "teleport"}', "at": 0}
    path.write_text(json.dumps(data), encoding="utf-8")
    reread = DiskJournal(path, HUB)
    assert [i for i, _ in reread.pending()] == ["good"]
    assert "could not be read" in reread.warnings[0]
    reread.close()
    assert [i for i, _ in DiskJournal(path, HUB).pending()] == ["good"]


async def test_a_console_closed_offline_sends_its_note_at_the_next_start_once(served, tmp_path):
    task = await served.write_in("a@b.co", "hello")
    path = tmp_path / "journal.json"
    token = await served.token("ana")
    first = await served.remote(token=token, journal=DiskJournal(path, served.url))
    await served.stop()
    await until(lambda: first.link.state == LinkState.OFFLINE, what="the link offline")
    pending = asyncio.create_task(first.note(task.id, "written offline"))
    await until(lambda: len(first.journal) == 1, what="the note journaled")
    # The console is closed (its terminal went away) before the hub is back.
    await first.close()
    first.journal.close()
    pending.cancel()

    await served.start()
    journal = DiskJournal(path, served.url)
    assert len(journal) == 1
    second = await served.remote(token=token, journal=journal)
    await until(lambda: len(second.journal) == 0, what="the queued note answered")
    thread = served.desk.store.events_of_task(task.id)
    assert [e.text for e in thread if isinstance(e, Note)] == ["written offline"]
    journal.close()
    assert DiskJournal(path, served.url).pending() == []
