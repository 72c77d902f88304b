"""``agentdesk serve`` and ``agentdesk agents`` as an operator runs them: real
processes, a real store, the hub on a loopback port, SIGTERM to stop."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from self_signed import self_signed
from served_hub import Served, add, agentdesk

from agentdesk.api import requests as rq
from agentdesk.remote import RemoteDeskClient


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def test_agents_on_the_store_add_list_revoke_rotate(store: Path):
    token = add(
        store, "Lea", "--role", "admin", "--teams", "billing,fr", "--capacity", "chat=2",
        "--limit", "4",
    )  # fmt: skip
    assert token.startswith("adk_") and len(token) > 30
    listed = agentdesk("--store", str(store), "agents", "list")
    assert listed.returncode == 0 and "lea" in listed.stdout and "chat=2" in listed.stdout
    assert "total=4" in listed.stdout
    assert token not in listed.stdout  # a token is shown once, never listed

    again = agentdesk("--store", str(store), "agents", "add", "lea")
    assert again.returncode == 1 and "exists already" in again.stderr

    bad = agentdesk("--store", str(store), "agents", "add", "bob", "--capacity", "chat=lots")
    assert bad.returncode == 1 and "--capacity: expected KIND=NUMBER" in bad.stderr
    nobody = agentdesk("--store", str(store), "agents", "revoke", "nobody")
    assert nobody.returncode == 1 and "no agent named 'nobody'" in nobody.stderr

    rotated = agentdesk("--store", str(store), "agents", "rotate", "lea")
    assert rotated.returncode == 0
    assert rotated.stdout.strip().splitlines()[-1] not in (token, "")
    revoked = agentdesk("--store", str(store), "agents", "revoke", "lea")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "revoked" in agentdesk("--store", str(store), "agents", "list").stdout


async def test_serve_answers_consoles_and_operators_then_drains_on_sigterm(
    store: Path, tmp_path: Path
):
    admin = add(store, "root", "--role", "admin")
    # At debug level, where websocket libraries log frames: tokens stay out.
    served = Served(store, tmp_path / "hub.log", debug=True)
    try:
        health = httpx.get(served.http("/healthz")).json()
        assert health["status"] == "ok"

        # The running hub holds the store: changes go through it, as an admin.
        direct = agentdesk("--store", str(store), "agents", "add", "sam")
        assert direct.returncode == 1 and "connect to it as a hub" in direct.stderr
        through = agentdesk(
            "--store", str(store), "agents", "--hub", served.url, "add", "sam",
            env={"AGENTDESK_TOKEN": admin},
        )  # fmt: skip
        assert through.returncode == 0, through.stderr
        sam = through.stdout.strip().splitlines()[-1]

        # An agent's token may not add agents.
        refused = agentdesk(
            "--store", str(store), "agents", "--hub", served.url, "add", "eve",
            env={"AGENTDESK_TOKEN": sam},
        )  # fmt: skip
        assert refused.returncode == 1 and "admin" in refused.stderr
        no_token = agentdesk("agents", "--hub", served.url, "list", env={"AGENTDESK_TOKEN": ""})
        assert no_token.returncode == 1 and "AGENTDESK_TOKEN" in no_token.stderr

        client = RemoteDeskClient(served.url, sam)
        await client.connect()
        try:
            agents = {a.name: a for a in await client.request(rq.ListAgents())}
            assert set(agents) == {"root", "sam"} and agents["sam"].presence == "online"
            assert (await client.snapshot()).seq > 0
        finally:
            await client.close()

        # Updates go uncompressed: deflating each once per console cost a busy
        # hub most of its time (docs/benchmarks.md).
        from websockets.asyncio.client import connect

        async with connect(served.url) as raw:
            assert raw.response.headers.get("Sec-WebSocket-Extensions") is None

        metrics = httpx.get(served.http("/metrics")).text
        assert 'agentdesk_hellos_total{outcome="welcomed"}' in metrics
    finally:
        code = served.stop()
    assert code == 0
    lines = served.lines()  # every line is one JSON object
    messages = [line["message"] for line in lines if line["logger"].startswith("agentdesk")]
    assert any(m.startswith("serving the desk at ws://127.0.0.1:") for m in messages)
    assert messages[-1] == "stopped"
    logged = served.log.read_text()
    for token in (admin, sam):  # not even the part a truncated frame would show
        assert token[4:16] not in logged and token[-12:] not in logged
    # The store was closed cleanly: it opens again at once, with what the hub added.
    assert "sam" in agentdesk("--store", str(store), "agents", "list").stdout


def test_serve_names_a_port_it_cannot_take(store: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = agentdesk("--store", str(store), "serve", "--port", str(port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_console_without_a_token_is_told_where_to_put_it(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[hub]\nurl = "ws://127.0.0.1:9/desk"\ntoken = "${AGENTDESK_TEST_UNSET}"\n',
        encoding="utf-8",
    )
    env = {"AGENTDESK_TOKEN": ""}
    done = agentdesk("--config", str(config), "console", env=env)
    assert done.returncode == 1
    assert "hub.token: environment variable AGENTDESK_TEST_UNSET is not set" in done.stderr
    # Commands that do not need the hub still run with that config.
    assert (
        agentdesk("--config", str(config), "--store", str(tmp_path / "s"), "stats").returncode == 0
    )


def test_serve_over_tls_with_a_certificate_given_on_the_command_line(store: Path, tmp_path: Path):
    cert, key = self_signed(tmp_path)
    served = Served(store, tmp_path / "hub.log", "--certfile", cert, "--keyfile", key, trust=cert)
    try:
        assert httpx.get(served.http("/healthz"), verify=served.verify).json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):  # not trusted: refused, not downgraded
            httpx.get(served.http("/healthz"))
    finally:
        assert served.stop() == 0


def test_serve_names_a_certificate_it_cannot_use(store: Path, tmp_path: Path):
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    done = agentdesk("--store", str(store), "serve", "--certfile", str(bad), "--keyfile", str(bad))
    assert done.returncode == 1 and f"cannot serve TLS with {bad}" in done.stderr
    alone = agentdesk("--store", str(store), "serve", "--certfile", str(bad))
    assert alone.returncode == 1 and "--certfile and --keyfile go together" in alone.stderr


async def test_route_explain_through_the_hub_and_on_the_store(store: Path, tmp_path: Path):
    admin = add(store, "root", "--role", "admin")
    ana = add(store, "ana", "--skills", "fr")
    served = Served(store, tmp_path / "hub.log", "--demo", "--demo-routing", "--rate", "60")
    client = RemoteDeskClient(served.url, ana)  # ana's console: online, routed to
    try:
        await client.connect()
        snapshot = await client.snapshot()
        for _ in range(100):
            if any(t.assignee == "ana" for t in snapshot.tasks):
                break
            await asyncio.sleep(0.1)
            snapshot = await client.snapshot()
        mine = next(t for t in snapshot.tasks if t.assignee == "ana")
        env = {"AGENTDESK_TOKEN": admin}
        told = agentdesk("route", "--hub", served.url, "explain", f"#{mine.number}", env=env)
        assert told.returncode == 0, told.stderr
        assert told.stdout.strip() == f"#{mine.number} is assigned to ana"
        # The admin's tool did not make root an agent to route to.
        agents = {a.name: a.presence for a in await client.request(rq.ListAgents())}
        assert agents["root"] == "offline"
        missing = agentdesk("route", "--hub", served.url, "explain", "99999", env=env)
        assert missing.returncode == 1 and "no task #99999" in missing.stderr
        beside = agentdesk("--store", str(store), "route", "explain", str(mine.number))
        assert beside.returncode == 0, beside.stderr
        assert "presence is the hub's to know" in beside.stdout
    finally:
        await client.close()
        served.stop()
