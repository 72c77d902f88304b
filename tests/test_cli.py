"""The agentdesk command: errors as one line, export/import round trip, stats, search, doctor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentdesk.api import ChannelStatus
from agentdesk.cli import main
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.core.runtime import open_store
from agentdesk.domain import Task
from agentdesk.plugin import Capabilities, HealthState, InboundCall, InboundMessage
from agentdesk.store import Batch


def run(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'agent = "ana"\nstore = "{tmp_path / "store"}"\n', encoding="utf-8")
    return path


async def _fill(store_path: Path) -> None:
    store = open_store(store_path)
    try:
        desk = Desk(store)
        for name, kind, ident in (("mail", "email", "email"), ("tel", "phone", "phone")):
            caps = Capabilities(kind=kind, identity_kind=ident)
            desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
        first = await desk.ingest(
            "mail", InboundMessage("elodie@example.fr", "Mon canapé bleu", customer_name="Élodie")
        )
        await desk.ingest("tel", InboundCall("+33 6 12 34 56 78", outcome="missed"))
        await LocalDeskClient(desk, "ana").reply(first.task.id, "Nous regardons")
        await LocalDeskClient(desk, "ana").set_tags(first.task.id, ["sofa"])
        await desk.state_set("mail", "uid", 17)
    finally:
        store.close()


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        run("--version")
    assert info.value.code == 0
    assert "agentdesk 0.1.0" in capsys.readouterr().out


def test_bad_config_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[http]\nport = 'ten'\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentdesk.cli", "--config", str(bad), "stats"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"agentdesk: {bad}: http.port: expected a whole number, got 'ten'"
    )


def test_export_import_round_trip_is_lossless(tmp_path, config_file, capsys):
    import asyncio

    asyncio.run(_fill(tmp_path / "store"))
    out = tmp_path / "export.jsonl"
    assert run("--config", str(config_file), "export", str(out)) == 0
    exported = out.read_text(encoding="utf-8").splitlines()
    kinds = [json.loads(line)["type"] for line in exported]
    assert kinds[0] == "agentdesk-export"
    assert {"customer", "task", "event", "outbox", "state"} <= set(kinds)

    assert (
        run("--store", str(tmp_path / "copy"), "--config", str(config_file), "import", str(out))
        == 0
    )
    again = tmp_path / "again.jsonl"
    assert (
        run("--store", str(tmp_path / "copy"), "--config", str(config_file), "export", str(again))
        == 0
    )
    assert sorted(again.read_text(encoding="utf-8").splitlines()) == sorted(exported)


def test_import_names_the_broken_line_and_writes_nothing(tmp_path, config_file, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"type": "agentdesk-export", "version": 1}\n'
        '{"type": "customer", "data": {"id": "c1", "name": "A"}}\n'
        '{"type": "task", "data": {"id": "t1", "number": 1, "customer_id": "c1",'
        ' "status": "done"}}\n'
    )
    assert run("--config", str(config_file), "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: task: " in err and "done" in err
    assert run("--config", str(config_file), "stats") == 0
    assert "0 customers" in capsys.readouterr().out

    bad.write_text('{"type": "agentdesk-export", "version": 1}\n{not json\n')
    assert run("--config", str(config_file), "import", str(bad)) == 1
    assert f"{bad}:2: not valid JSON" in capsys.readouterr().err

    bad.write_text('{"type": "agentdesk-export", "version": 9}\n')
    assert run("--config", str(config_file), "import", str(bad)) == 1
    assert "version 9 is not supported" in capsys.readouterr().err


def test_stats_and_search(tmp_path, config_file, capsys):
    import asyncio

    asyncio.run(_fill(tmp_path / "store"))
    assert run("--config", str(config_file), "stats") == 0
    out = capsys.readouterr().out
    assert "open" in out and "2 customers" in out
    assert run("--config", str(config_file), "search", "--json", "canape") == 0
    [line] = capsys.readouterr().out.splitlines()
    hit = json.loads(line)
    assert hit["task"] == 1001 and hit["customer"] == "Élodie"
    assert run("--config", str(config_file), "search", "--json", "from:0612") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["task"] == 1002
    assert run("--config", str(config_file), "search", '"unbalanced') == 1
    assert "search:" in capsys.readouterr().err


def test_reindex_and_check(tmp_path, config_file, capsys):
    import asyncio

    asyncio.run(_fill(tmp_path / "store"))
    assert run("--config", str(config_file), "reindex") == 0
    assert run("--config", str(config_file), "reindex", "--check") == 0
    assert run("--config", str(config_file), "search", "--json", "canape") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[0])["task"] == 1001


def test_doctor_reports_a_broken_config_in_its_table(tmp_path, capsys):
    bad = tmp_path / "config.toml"
    bad.write_text(f"store = '{tmp_path / 'store'}'\n[[channels]]\nname = 'x'\n")
    assert run("--config", str(bad), "doctor") == 1
    out = capsys.readouterr().out
    assert "channels[0].plugin: missing" in out.replace("\n", "")


def test_doctor_passes_on_a_healthy_setup(tmp_path, config_file, capsys):
    assert run("--config", str(config_file), "doctor") == 0, capsys.readouterr().out


def test_store_in_use_is_refused_clearly_to_writers_and_read_by_readers(
    tmp_path, config_file, capsys
):
    store = open_store(tmp_path / "store")
    export = tmp_path / "export.jsonl"

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "agentdesk.cli", "--config", str(config_file), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        export.write_text('{"type": "agentdesk-export", "version": 2}\n', encoding="utf-8")
        writer = command("import", str(export))
        reader = command("stats")
    finally:
        store.close()
    assert writer.returncode == 1
    assert "Traceback" not in writer.stderr and writer.stderr.count("\n") == 1
    assert "already open in process" in writer.stderr
    assert reader.returncode == 0 and "0 customers" in reader.stdout


def test_import_of_an_unpaired_surrogate_keeps_the_record_and_search_working(
    tmp_path, config_file, capsys
):
    """JSON can escape half a surrogate pair, which no UTF-8 file or database
    holds: the import keeps the record with U+FFFD in its place (as ingest
    does), and the search index built from it works."""
    odd = tmp_path / "odd.jsonl"
    odd.write_text(
        '{"type": "agentdesk-export", "version": 1}\n'
        '{"type": "customer", "data": {"id": "c1", "name": "Zo\\ud800 Martin"}}\n'
        '{"type": "task", "data": {"id": "t1", "number": 1001, "customer_id": "c1",'
        ' "customer_name": "Zo\\ud800 Martin", "subject": "Parapluie \\udc00 cass\\u00e9",'
        ' "status": "open"}}\n'
        '{"type": "task", "data": {"id": "t2", "number": 1002, "customer_id": "c1",'
        ' "subject": "Emoji \\ud83d\\ude00 kept", "status": "open"}}\n'
    )
    assert run("--config", str(config_file), "import", str(odd)) == 0
    capsys.readouterr()
    assert run("--config", str(config_file), "search", "--json", "parapluie") == 0
    hits = json.loads(capsys.readouterr().out)
    text = json.dumps(hits, ensure_ascii=False)
    assert "Parapluie \ufffd cassé" in text and "Zo\ufffd Martin" in text
    assert run("--config", str(config_file), "search", "--json", "emoji") == 0
    assert "Emoji 😀 kept" in json.dumps(json.loads(capsys.readouterr().out), ensure_ascii=False)


def test_an_export_of_the_previous_release_moves_over_whole(tmp_path, config_file, capsys):
    """tests/fixtures/export-v1.jsonl was written by the previous store's
    `agentdesk export`: every event kind, replies in the outbox, plugin state."""
    fixture = Path(__file__).parent / "fixtures" / "export-v1.jsonl"
    assert run("--config", str(config_file), "import", str(fixture)) == 0
    store = open_store(tmp_path / "store")
    try:
        tasks = {task.number: task for task in store.tasks()}
        assert sorted(tasks) == [1001, 1002, 1003, 1004]
        assert {task.status.value for task in tasks.values()} == {"open", "pending", "closed"}
        kinds = {event.kind for event in store.iter_events()}
        assert kinds == {
            "message", "note", "assignment", "update", "handoff", "status", "survey",
            "transfer", "call",
        }  # fmt: skip
        assert [entry.channel for entry in store.outbox()] == ["mail", "sms"]
        assert store.get_state("mail", "cursor") == {"uid": 42, "validity": 7}
        attached = [e for e in store.iter_events() if getattr(e, "attachments", None)]
        assert attached[0].attachments[0].name == "photo.jpg"
        # New tasks go on from the numbers the old store gave.
        new = Task(id="T-new", customer_id=tasks[1001].customer_id)
        store.commit(Batch(tasks=[new]))
        assert new.number == 1005
    finally:
        store.close()
    assert run("--config", str(config_file), "search", "--json", "colis") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["task"] == 1001
    again = tmp_path / "again.jsonl"
    assert run("--config", str(config_file), "export", str(again)) == 0
    old = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines()[1:]]
    new_lines = [json.loads(line) for line in again.read_text(encoding="utf-8").splitlines()[1:]]
    # Every record of the old export is in the new one, as it was (but for the
    # counter version 1 kept, and the new task); fields added to a record since
    # that release hold their defaults.
    added_since = {
        "template": None,
        "template_params": [],
        "survey": [],
        "agent": "",
        "external_id": None,
    }
    kept = [r for r in old if r["type"] != "meta"]

    def as_old(record: dict, new: dict) -> dict:
        data, was = new.get("data"), record.get("data")
        if not isinstance(data, dict) or not isinstance(was, dict):
            return new
        extra = {k for k, v in data.items() if k not in was and added_since.get(k, ...) == v}
        return {**new, "data": {k: v for k, v in data.items() if k not in extra}}

    def moved(record: dict) -> bool:
        return any(as_old(record, new) == record for new in new_lines)

    assert [record for record in kept if not moved(record)] == []


def test_doctor_with_a_broken_config_examines_the_store_it_names(tmp_path, capsys):
    import asyncio

    store = tmp_path / "named-store"
    asyncio.run(_fill(store))
    bad = tmp_path / "bad.toml"
    bad.write_text(f"store = '{store}'\ncolour = 'red'\n", encoding="utf-8")
    assert run("--config", str(bad), "doctor") == 1
    out = capsys.readouterr().out.replace("\n", "")
    assert "colour" in out
    assert "customers" in out and "no store yet" not in out  # the named store, examined
    # A store setting that cannot be read is not replaced by the default store.
    worse = tmp_path / "worse.toml"
    worse.write_text("store = 42\n", encoding="utf-8")
    assert run("--config", str(worse), "doctor") == 1
    out = capsys.readouterr().out.replace("\n", "")
    assert "not checked" in out and "no store yet" not in out


def test_a_file_that_is_not_a_store_is_named(tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    (store / "agentdesk.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    config = tmp_path / "config.toml"
    config.write_text(f"store = '{store}'\n", encoding="utf-8")
    for command in ("stats", "export", "search"):
        args = {"export": ["export", str(tmp_path / "out.jsonl")], "search": ["search", "x"]}
        assert run("--config", str(config), *args.get(command, [command])) == 1
        err = capsys.readouterr().err
        assert str(store / "agentdesk.sqlite") in err and "not an agentdesk store" in err
        assert "unexpected" not in err


def test_an_export_that_fails_half_way_leaves_nothing_behind(
    tmp_path, config_file, capsys, monkeypatch
):
    import asyncio

    from agentdesk.commands import data
    from agentdesk.commands.base import CommandError

    asyncio.run(_fill(tmp_path / "store"))
    real = data.export_lines

    def failing(store):
        lines = real(store)
        yield next(lines)
        raise CommandError("the disk went away")

    monkeypatch.setattr(data, "export_lines", failing)
    assert run("--config", str(config_file), "export", "-") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "the disk went away" in captured.err
    target = tmp_path / "backup.jsonl"
    assert run("--config", str(config_file), "export", str(target)) == 1
    assert list(tmp_path.glob("backup.jsonl*")) == []


HOSTILE = "\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J[bold]Boss[/bold]\x1b]0;x"


def test_import_cleans_text_as_ingest_does(tmp_path, config_file, capsys):
    import asyncio

    asyncio.run(_fill(tmp_path / "store"))
    out = tmp_path / "export.jsonl"
    assert run("--config", str(config_file), "export", str(out)) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    doctored = []
    for line in lines:
        record = json.loads(line)
        data = record.get("data", {})
        if record["type"] == "customer":
            data["name"] = HOSTILE
        if record["type"] == "event" and data.get("text"):
            data["text"] = HOSTILE + " text"
        doctored.append(json.dumps(record))
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text("\n".join(doctored) + "\n", encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(f"store = '{tmp_path / 'other-store'}'\n", encoding="utf-8")
    assert run("--config", str(other), "import", str(hostile)) == 0
    capsys.readouterr()
    store = open_store(tmp_path / "other-store", read_only=True)
    try:
        texts = [c.name for c in store.customers()]
        texts += [e.text for e in store.iter_events() if getattr(e, "text", "")]
    finally:
        store.close()
    assert texts and all("\x1b" not in t and "\x07" not in t for t in texts)
    assert any("[bold]Boss[/bold]" in t for t in texts)  # markup is data: kept
    # What the CLI prints of stored text goes through the same safe path.
    assert run("--config", str(other), "search", "text") == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "[bold]Boss" in printed


def test_the_cli_prints_raw_stored_text_safely(tmp_path, config_file, capsys):
    """A store written before cleaning (or by another tool) still prints safely."""
    import asyncio

    from agentdesk.domain.evolve import evolve
    from agentdesk.store import Batch

    asyncio.run(_fill(tmp_path / "store"))
    store = open_store(tmp_path / "store")
    try:
        customer = next(iter(store.customers()))
        task = store.tasks_of_customer(customer.id)[0]
        store.commit(
            Batch(
                customers=[evolve(customer, name=HOSTILE)],
                tasks=[evolve(task, customer_name=HOSTILE, channel="m\x1b[31mail")],
            )
        )
    finally:
        store.close()
    for args in (["search", "canapé"], ["stats"]):
        assert run("--config", str(config_file), *args) == 0
        printed = capsys.readouterr().out
        assert "\x1b" not in printed and "\x07" not in printed, args
    from agentdesk.tui.labels import channel_badge

    assert "\x1b" not in channel_badge("\x1b[2Jzz")


def test_doctor_shows_what_each_instance_can_do(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        f"store = '{tmp_path / 'store'}'\n"
        "[[channels]]\nplugin = 'simulator'\nname = 'texts'\nkind = 'sms'\n",
        encoding="utf-8",
    )
    run("--config", str(config), "doctor")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "channel texts" in line)
    assert "(sms)" in line and "(email)" not in line
