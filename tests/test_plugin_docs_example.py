"""The channel in docs/plugins.md works as printed: loaded from a plugin folder and
from an entry point, it passes the conformance kit and runs inside the desk,
receiving webhooks on the desk's HTTP server and sending through the outbox."""

from __future__ import annotations

import asyncio
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from agentdesk.core.config import ChannelConfig, Config, HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.host.channel_runtime import ChannelRuntime, RuntimeSettings
from agentdesk.core.host.discovery import discover
from agentdesk.domain import DeliveryState, Message
from agentdesk.plugin import Channel, HealthState, Outbound
from agentdesk.plugin.contract import ContractSubject, run_contract
from agentdesk.plugin.serving import EmbeddedServer
from agentdesk.plugin.testing import RecordingContext
from agentdesk.store.memory import MemoryStore

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def example_code() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: webhook_sms -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/plugins.md lost its example"
    return match.group(1)


def test_the_example_is_short() -> None:
    assert len(example_code().splitlines()) < 62


@dataclass
class Gateway:
    """An SMS gateway on loopback: takes sends, deduplicates them by idempotency key."""

    server: EmbeddedServer = field(default_factory=EmbeddedServer)
    posts: Counter[str] = field(default_factory=Counter)
    accepted: dict[str, dict] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)

    async def send(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.tokens.add(request.headers.get("authorization", ""))
        key = body["idempotency_key"]
        self.posts[key] += 1
        if key not in self.accepted:
            self.accepted[key] = {**body, "id": f"gw-{len(self.accepted) + 1}"}
        return JSONResponse({"id": self.accepted[key]["id"]})

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/v1/messages"

    def delivered(self, key: str) -> int:
        return 1 if key in self.accepted else 0


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway()
    gw.server.add_route("/v1/messages", gw.send, methods=("POST",))
    await gw.server.start()
    yield gw
    await gw.server.stop()


def write_module(folder: Path, module: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(example_code(), encoding="utf-8")


async def post_inbound(url: str, sender: str, text: str, message_id: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json={"from": sender, "text": text, "id": message_id})
    assert response.json() == {"ok": True}


async def test_loaded_from_a_plugin_folder_it_passes_the_contract(
    tmp_path: Path, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "docs_example_folder", raising=False)
    write_module(tmp_path / "plugins", "docs_example_folder")
    catalog = discover([tmp_path / "plugins"], entry_points=None, default_paths=False)
    assert [(r.name, r.status, r.version) for r in catalog.reports] == [
        ("webhook-sms", "ok", "1.0")
    ]

    async def trigger(channel: Channel, ctx: RecordingContext) -> None:
        await post_inbound(ctx.url("/channels/contract/inbound"), "+33612345678", "allô", "m1")

    async def count(channel: Channel, ctx: RecordingContext, outbound: Outbound) -> int:
        return gateway.delivered(outbound.key)

    subject = ContractSubject(
        catalog.channels["webhook-sms"],
        {"send_url": gateway.url, "token": "s3cret"},
        trigger_inbound=trigger,
        count_deliveries=count,
    )
    report = await run_contract(subject)
    assert report.passed, [(r.name, r.detail) for r in report.failures]
    assert gateway.tokens == {"Bearer s3cret"}
    assert max(gateway.posts.values()) == 2  # sent twice, delivered once


async def test_installed_through_an_entry_point_it_runs_in_the_desk(
    tmp_path: Path, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    write_module(site, "docs_example_installed")
    info = site / "agentdesk_webhook_sms-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: agentdesk-webhook-sms\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[agentdesk.channels]\nwebhook-sms = docs_example_installed:WebhookSms\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "docs_example_installed", raising=False)
    catalog = discover(default_paths=False)
    report = catalog.report_for("webhook-sms")
    assert report is not None and report.ok
    assert report.origin == (
        "entry point docs_example_installed:WebhookSms (agentdesk-webhook-sms 1.0)"
    )

    desk = Desk(MemoryStore())
    config = Config(
        source="test.toml",
        store=tmp_path / "store",
        http=HttpConfig(host="127.0.0.1", port=0),
        channels=[
            ChannelConfig("webhook-sms", "sms-fr", {"send_url": gateway.url, "token": "t"}, 0)
        ],
    )
    runtime = ChannelRuntime(
        desk, config, catalog=catalog, settings=RuntimeSettings(restart_base=0.01)
    )
    await runtime.start()
    try:
        while desk.channel("sms-fr").state != HealthState.UP:
            await asyncio.sleep(0.005)
        assert runtime.http.running
        assert runtime.http.channel_routes("sms-fr") == ["/channels/sms-fr/inbound"]
        webhook = f"{runtime.http.base_url}/channels/sms-fr/inbound"
        await post_inbound(webhook, "+33 6 12 34 56 78", "Mon colis est arrivé abîmé", "in-1")
        await post_inbound(webhook, "+33 6 12 34 56 78", "Mon colis est arrivé abîmé", "in-1")
        while runtime.pumps["sms-fr"].counters.ingested < 2:
            await asyncio.sleep(0.005)
        (task,) = desk.store.tasks()  # the duplicate webhook was dropped
        assert len(desk.store.events_of_task(task.id)) == 1
        reply = await LocalDeskClient(desk, "ana").reply(task.id, "Nous vous renvoyons un colis.")
        while desk.store.get_event(reply.id).delivery != DeliveryState.SENT:
            await asyncio.sleep(0.005)
        sent = gateway.accepted[reply.id]
        assert sent["to"] == "+33612345678" and sent["text"] == "Nous vous renvoyons un colis."
        stored = desk.store.get_event(reply.id)
        assert isinstance(stored, Message) and stored.external_id == sent["id"]
    finally:
        await runtime.stop()
    assert not runtime.http.running


async def test_agentdesk_plugins_check_passes_it_posting_its_own_sample_webhook(
    tmp_path: Path, gateway: Gateway
) -> None:
    write_module(tmp_path / "plugins", "docs_example_checked")
    config = tmp_path / "config.toml"
    config.write_text(
        f'plugin_paths = ["{tmp_path / "plugins"}"]\nstore = "{tmp_path / "store"}"\n'
        '[[channels]]\nplugin = "webhook-sms"\nname = "sms-fr"\n'
        f'send_url = "{gateway.url}"\ntoken = "s3cret"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "agentdesk.cli", "--config", str(config)]
    check = await asyncio.create_subprocess_exec(
        *command, "plugins", "check", "webhook-sms", "--send-to", "+15550100",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(check.communicate(), 120)
    text = out.decode()
    assert check.returncode == 0, text
    assert "webhook-sms passes the contract" in text
    [inbound] = [line for line in text.splitlines() if "inbound items" in line]
    assert "passed" in inbound  # posted its sample webhook: not skipped, not waited out
    assert gateway.tokens == {"Bearer s3cret"}  # the send checks really sent
