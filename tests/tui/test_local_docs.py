"""The console's documents file on its own: atomic writes, damage, per-agent keys."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from tinydb import TinyDB

from agentdesk.tui.local_docs import (
    DRAFT_DAYS,
    RECENT_SEARCHES,
    AtomicJSONStorage,
    ConsoleDocuments,
    DamagedFile,
    Draft,
    DraftBook,
    Preferences,
    remember,
)
from agentdesk.tui.local_docs import storage as storage_module
from agentdesk.tui.local_docs.writer import DocWriter

NOW = 1_790_000_000.0


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- atomic writes ---------------------------------------------------------------------


def test_a_write_replaces_the_file_whole_and_readable(tmp_path):
    path = tmp_path / "console.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.table("drafts").insert({"agent": "ana", "text": "Olá, García"})
    data = json.loads(path.read_text("utf-8"))
    assert list(data["drafts"].values()) == [{"agent": "ana", "text": "Olá, García"}]
    assert "Olá" in path.read_text("utf-8")  # human-readable, not escaped
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # drafts quote customers
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch, failing):
    path = tmp_path / "console.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.table("drafts").insert({"text": "kept"})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, failing, broken)
    with pytest.raises(OSError, match="No space"):
        db.table("drafts").insert({"text": "x" * 100_000})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert [d["text"] for d in db.table("drafts").all()] == ["kept"]


def test_the_temporary_file_is_written_beside_the_target(tmp_path, monkeypatch):
    path = tmp_path / "console.json"
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((str(Path(src).parent), Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(storage_module.os, "replace", spy)
    TinyDB(path, storage=AtomicJSONStorage).table("t").insert({"a": 1})
    assert seen == [(str(tmp_path), "console.json")]  # one file system: the rename is atomic


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"drafts": [1]}', b'{"t": {"1": 3}}', b"\xff\xfe"]
)
def test_a_damaged_file_is_set_aside_and_an_empty_one_used(tmp_path, content):
    path = tmp_path / "console.json"
    path.write_bytes(content)
    with pytest.raises(DamagedFile):
        AtomicJSONStorage(path).read()
    docs = ConsoleDocuments.open(path, now=NOW)
    [aside] = tmp_path.glob("console.json.damaged-*")
    assert aside.read_bytes() == content
    assert len(docs.warnings) == 1 and aside.name in docs.warnings[0]
    assert docs.load_agent("ana").drafts == []
    docs.drafts.save("ana", Draft("t1", "reply", "new", NOW))
    assert [d.text for d in ConsoleDocuments.open(path, now=NOW).load_agent("ana").drafts] == [
        "new"
    ]


def test_a_second_damaged_file_does_not_overwrite_the_first(tmp_path):
    path = tmp_path / "console.json"
    for content in ("{one", "{two"):
        path.write_text(content)
        ConsoleDocuments.open(path, now=NOW)
    assert sorted(p.read_text() for p in tmp_path.glob("console.json.damaged-*")) == [
        "{one",
        "{two",
    ]


def test_a_place_that_cannot_hold_the_file_keeps_documents_in_memory(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    docs = ConsoleDocuments.open(blocker / "console.json", now=NOW)
    assert docs.path is None and "last until the console quits" in docs.warnings[0]
    docs.preferences.save("ana", Preferences(theme="agentdesk-light"))
    assert docs.load_agent("ana").preferences.theme == "agentdesk-light"


# --- what the documents hold ----------------------------------------------------------------


def test_documents_are_kept_per_agent(tmp_path):
    path = tmp_path / "console.json"
    docs = ConsoleDocuments.open(path, now=NOW)
    docs.drafts.save("ana", Draft("t1", "reply", "ana's", NOW))
    docs.drafts.save("ana", Draft("t1", "note", "ana's note", NOW))
    docs.drafts.save("ben", Draft("t1", "reply", "ben's", NOW))
    docs.preferences.save("ana", Preferences(sort="newest", split=True))
    docs.searches.save("ben", ["refund"])
    docs.drafts.save("ana", Draft("t1", "reply", "ana's, edited", NOW + 1))  # replaces
    again = ConsoleDocuments.open(path, now=NOW)
    ana, ben = again.load_agent("ana"), again.load_agent("ben")
    assert sorted(d.text for d in ana.drafts) == ["ana's note", "ana's, edited"]
    assert [d.text for d in ben.drafts] == ["ben's"]
    assert ana.preferences == Preferences(sort="newest", split=True)
    assert ben.preferences == Preferences()
    assert (ana.searches, ben.searches) == ([], ["refund"])
    again.drafts.discard("ana", "t1", "note")
    assert [d.mode for d in again.load_agent("ana").drafts] == ["reply"]


def test_old_drafts_are_pruned_on_open_and_a_quiet_open_writes_nothing(tmp_path):
    path = tmp_path / "console.json"
    docs = ConsoleDocuments.open(path, now=NOW)
    assert not path.exists()  # nothing to keep yet, nothing written
    day = 86400
    docs.drafts.save("ana", Draft("old", "reply", "gone", NOW - (DRAFT_DAYS + 1) * day))
    docs.drafts.save("ana", Draft("recent", "reply", "kept", NOW - (DRAFT_DAYS - 1) * day))
    assert [d.task_id for d in ConsoleDocuments.open(path, now=NOW).load_agent("ana").drafts] == [
        "recent"
    ]
    assert "gone" not in path.read_text("utf-8")  # pruned on disk, not only when read
    written = path.read_bytes()
    ConsoleDocuments.open(path, now=NOW)
    assert path.read_bytes() == written


def test_hand_edited_documents_are_read_as_far_as_they_make_sense(tmp_path):
    path = tmp_path / "console.json"
    path.write_text(
        json.dumps(
            {
                "drafts": {
                    "1": {
                        "agent": "ana",
                        "task": "t1",
                        "mode": "shout",
                        "text": "x",
                        "saved_at": NOW,
                    },
                    "2": {"agent": "ana", "task": "t2", "mode": "note", "text": 5, "saved_at": NOW},
                    "3": {
                        "agent": "ana",
                        "task": "t3",
                        "mode": "note",
                        "text": "ok",
                        "saved_at": NOW,
                    },
                },
                "preferences": {
                    "1": {"agent": "ana", "theme": 7, "split": "yes", "sort": "newest"}
                },
                "searches": {"1": {"agent": "ana", "queries": ["a", 3, "a", " b ", ""]}},
            }
        )
    )
    ana = ConsoleDocuments.open(path, now=NOW).load_agent("ana")
    assert [d.task_id for d in ana.drafts] == ["t3"]
    assert ana.preferences == Preferences(sort="newest")
    assert ana.searches == ["a", "b"]


def test_remember_keeps_distinct_queries_newest_first():
    queries: list[str] = []
    for query in ["refund", "invoice", " refund ", "", *[f"q{n}" for n in range(30)]]:
        queries = remember(queries, query)
    assert len(queries) == RECENT_SEARCHES
    assert queries[0] == "q29" and "refund" not in queries
    assert remember(["a", "b", "c"], "c") == ["c", "a", "b"]


# --- the console's side: the draft book and the writer ---------------------------------------


def test_the_draft_book_tells_only_real_changes():
    changes = []
    book = DraftBook(clock=lambda: NOW, on_change=changes.append)
    book.keep("t1", "reply", "hello")
    book.keep("t1", "reply", "hello")  # the same text again: nothing to save
    book.keep("t1", "note", "  ")  # blank, and nothing there: nothing to discard
    book.discard("t1", "reply", text="something else")  # not the text it holds
    assert [(c.mode, c.draft.text if c.draft else None) for c in changes] == [("reply", "hello")]
    book.keep("t1", "reply", "")
    assert changes[-1].draft is None and book.get("t1", "reply") is None


def test_the_writer_keeps_the_order_and_warns_once():
    done: list[int] = []
    problems: list[str] = []
    writer = DocWriter(problems.append)
    threads = set()

    def job(n: int):
        threads.add(threading.current_thread().name)
        if n in (3, 7):
            raise OSError("disk full")
        done.append(n)

    for n in range(10):
        writer.submit(f"write {n}", lambda n=n: job(n))
    writer.drain()
    assert done == [0, 1, 2, 4, 5, 6, 8, 9]
    assert problems == ["could not save write 3: disk full"]
    assert len(threads) == 1 and threading.current_thread().name not in threads
    writer.close()
    assert writer.submit("late", lambda: done.append(99)) is None
