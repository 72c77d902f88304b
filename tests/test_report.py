"""``agentdesk report`` on a store the real desk wrote: presence and focus
recorded as they happen, every figure from the one fold."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from fixed_clock import Clock

from agentdesk.api import ChannelStatus
from agentdesk.api import requests as rq
from agentdesk.api.agents import Presence
from agentdesk.cli import main
from agentdesk.commands.report import parse_moment
from agentdesk.commands.report_render import bar, duration
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.domain import ActivityKind, Status
from agentdesk.metrics import ALWAYS
from agentdesk.metrics.history import collect
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.sqlite_store import SqliteStore

# Monday 30 November 2026, 09:00 UTC.
START = datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC).timestamp()
CHANNELS = {
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True),
    "mail": Capabilities(kind="email", identity_kind="email"),
}


async def a_morning(store_path: Path) -> None:
    """ana comes online at 09:00, works a chat and an email at once, leaves at 10:00."""
    clock = Clock(START)
    store = SqliteStore.open(store_path)
    desk = Desk(store, clock=clock)
    for name, caps in CHANNELS.items():
        desk.register_channel(ChannelStatus(name, "test", caps, HealthState.UP))
    ana = LocalDeskClient(desk, "ana")
    desk.set_presence("ana", Presence.ONLINE)
    chat = (await desk.ingest("chat", InboundMessage("visitor-1", "Where is my parcel?"))).task
    await ana.assign(chat.id, "ana")
    await ana.request(rq.Focus(task_id=chat.id))
    clock.advance(120)  # 09:02
    await ana.reply(chat.id, "Let me look.")
    clock.advance(18 * 60)  # 09:20
    mail = (await desk.ingest("mail", InboundMessage("kim@example.com", "Invoice?"))).task
    await ana.assign(mail.id, "ana")
    await ana.request(rq.Focus(task_id=mail.id))
    clock.advance(20 * 60)  # 09:40
    await ana.reply(mail.id, "Here it is.")
    await ana.set_status(chat.id, Status.CLOSED)
    clock.advance(20 * 60)  # 10:00
    desk.everyone_offline()
    await desk.activity.drain()
    await desk.read(store.close)
    desk.close()


@pytest.fixture
async def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    await a_morning(path)
    return path


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[business_hours]\ntimezone = "UTC"\nmon = "09:30-18:00"\n'
        '[[sla.targets]]\nchannel = "chat"\nfirst_response = "1m"\n'
        '[[sla.targets]]\nchannel = "email"\nfirst_response = "5m"\n'
    )
    return path


async def test_presence_and_focus_are_in_the_store(store_path: Path) -> None:
    store = SqliteStore.open(store_path, read_only=True)
    try:
        records = [(a.kind, a.value, a.at - START) for a in store.iter_activity()]
        collected = collect(store, ALWAYS, until=START + 7200)
    finally:
        store.close()
    kinds = [(kind, value) for kind, value, _ in records]
    assert kinds[0] == (ActivityKind.PRESENCE, "online")
    assert kinds[-1] == (ActivityKind.PRESENCE, "offline")
    assert [r[2] for r in records if r[0] == ActivityKind.FOCUS] == [0, 1200]
    [time] = collected.agent_times(START - 3600, START + 7200).values()
    assert time.online == 3600
    # Focus: the chat 09:00-09:20, the email 09:20-10:00.
    assert time.focus == {"chat": 1200, "email": 2400}
    # Engaged: chat alone 09:00-09:20 (1200) and shared 09:20-09:40 (600
    # each); the email shared (600) then alone 09:40-10:00 (1200).
    assert time.engaged == {"chat": 1800, "email": 1800}


def test_the_report_as_json(store_path: Path, tmp_path: Path, capsys) -> None:
    argv = ["--config", str(config_file(tmp_path)), "--store", str(store_path), "report"]
    period = ["--since", "2026-11-30T00:00+00:00", "--until", "2026-12-01T00:00+00:00"]
    assert main([*argv, *period, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["key"]: row for row in report["rows"]}
    assert set(rows) == {"chat", "email"}
    chat, email = rows["chat"], rows["email"]
    assert (chat["received"], chat["handled"]) == (1, 1)
    assert chat["first_response_p50"] == 120
    assert chat["first_resolution_p50"] == 40 * 60
    assert (email["received"], email["handled"]) == (1, 0)
    assert email["first_response_p50"] == 20 * 60
    assert report["agents"]["ana"]["online"] == 3600
    # Business hours open at 09:30: the chat's response (09:00-09:02) took none
    # of them; the email's (09:20-09:40) took ten minutes.
    assert main([*argv, *period, "--format", "json", "--business"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["chat"]["first_response_p50"] == 0
    assert rows["email"]["first_response_p50"] == 600
    # Targets count business time: the chat's 0 s met its minute, the email's
    # ten minutes missed its five.
    assert (rows["chat"]["first_response_sla_met"], rows["email"]["first_response_sla_met"]) == (
        1.0,
        0.0,
    )
    assert rows["chat"]["resolution_sla_met"] is None  # no target held it


def test_the_report_as_csv_and_as_a_table(store_path: Path, tmp_path: Path, capsys) -> None:
    argv = ["--config", str(config_file(tmp_path)), "--store", str(store_path), "report"]
    period = ["--since", "2026-11-30", "--until", "2026-12-01"]
    assert main([*argv, *period, "--by", "agent", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("key,received,handled,")
    assert [line.split(",")[0] for line in lines[1:]] == ["-", "ana"]
    assert main([*argv, *period, "--chart"]) == 0
    out = capsys.readouterr().out
    assert "response" in out and "2m 00s" in out
    assert "service-level targets met by channel" in out
    assert "time per channel: focus over engaged" in out and "ana" in out
    assert "received and handled by channel" in out


def test_a_period_with_nothing_says_so(store_path: Path, tmp_path: Path, capsys) -> None:
    argv = ["--config", str(config_file(tmp_path)), "--store", str(store_path), "report"]
    assert main([*argv, "--since", "2020-01-01", "--until", "2020-02-01"]) == 0
    assert "Nothing happened in this period." in capsys.readouterr().out


def test_bad_moments_are_refused_with_the_forms_to_use(tmp_path: Path, capsys) -> None:
    argv = ["--config", str(config_file(tmp_path)), "--store", str(tmp_path / "s"), "report"]
    assert main([*argv, "--since", "last tuesday"]) != 0
    assert "7d, 24h, 30m, 2w" in capsys.readouterr().err
    assert main([*argv, "--since", "1d", "--until", "2d"]) != 0
    assert "--until must come after --since" in capsys.readouterr().err


def test_moments_durations_and_bars() -> None:
    utc = datetime.UTC
    assert parse_moment("7d", 1_000_000.0, utc) == 1_000_000.0 - 7 * 86400  # type: ignore[arg-type]
    assert duration(None) == "-"
    assert [duration(s) for s in (42, 250, 3900, 3 * 86400 + 7200)] == [
        "42s",
        "4m 10s",
        "1h 05m",
        "3d 2h",
    ]
    assert bar(0, 10) == ""
    assert bar(10, 10, width=4) == "████ 10"
    assert bar(1, 16, width=4) == "▎ 1"


async def test_the_same_report_from_a_hub(store_path: Path, tmp_path: Path) -> None:
    from served_hub import Served, add, agentdesk

    lead = add(store_path, "lea", "--role", "lead")
    agent = add(store_path, "al", "--role", "agent")
    config = str(config_file(tmp_path))
    period = ["--since", "2026-11-30T00:00+00:00", "--until", "2026-12-01T00:00+00:00"]
    here = agentdesk("--config", config, "--store", str(store_path), "report", *period,
                     "--by", "agent", "--format", "json")  # fmt: skip
    assert here.returncode == 0, here.stderr
    served = Served(store_path, tmp_path / "hub.log", config=Path(config))
    try:
        asked = ["--config", config, "report", "--hub", served.url, *period, "--by", "agent"]
        there = agentdesk(*asked, "--format", "json", env={"AGENTDESK_TOKEN": lead})
        assert there.returncode == 0, there.stderr
        refused = agentdesk(*asked, env={"AGENTDESK_TOKEN": agent})
        assert refused.returncode == 1 and "lead" in refused.stderr
    finally:
        served.stop()
    ours, theirs = json.loads(here.stdout), json.loads(there.stdout)
    assert ours["rows"] == theirs["rows"] and ours["rows"]
    # The hub adds what it saw itself (its agents' presence); ana's time is the same.
    assert ours["agents"]["ana"] == theirs["agents"]["ana"]
