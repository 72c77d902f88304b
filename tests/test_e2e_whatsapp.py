"""End to end, as a person, with WhatsApp: ``agentdesk console`` in tmux on a
config with a whatsapp channel, against our local server that follows Meta's
Cloud API and signs its webhooks as Meta does.

A customer's message comes in and shows in the inbox; the agent opens it
(the customer sees blue ticks), replies from the keyboard, the server
receives the reply, and its "delivered" status shows on screen. Needs tmux.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from servers.whatsapp_cloud import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeCloudApi,
)
from tmux_terminal import COLUMNS, ROWS, Terminal, require_tmux

CUSTOMER = "33612345678"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    require_tmux()


class Meta:
    """The fake Cloud API on a loop of its own, driven from this (sync) test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeCloudApi()
        self.run(self.fake.__aenter__())

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def wait(self, check: Callable[[], bool], what: str, screen: Callable[[], str]) -> None:
        for _ in range(150):
            if check():
                return
            self.run(asyncio.sleep(0.1))
        raise AssertionError(f"{what} never happened\n{screen()}")

    def close(self) -> None:
        self.run(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def meta() -> Iterator[Meta]:
    made = Meta()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def desk_url(tmp_path: Path, meta: Meta) -> Iterator[tuple[str, Terminal]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'agent = "e2e"\nstore = "{tmp_path / "store"}"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {port}\npublic_url = "{base}"\n'
        '[[channels]]\nplugin = "whatsapp"\nname = "wa"\n'
        f'phone_number_id = "{PHONE_NUMBER_ID}"\n'
        'access_token = "${WHATSAPP_TOKEN}"\napp_secret = "${WHATSAPP_APP_SECRET}"\n'
        'verify_token = "${WHATSAPP_VERIFY}"\n'
        f'api_base = "{meta.fake.url}"\n',
        encoding="utf-8",
    )
    env = {
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
        "WHATSAPP_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY": VERIFY_TOKEN,
    }
    command = [sys.executable, "-m", "agentdesk.cli", "--config", str(config), "console"]
    root = Path(__file__).resolve().parent.parent
    term = Terminal(f"agentdesk-whatsapp-{os.getpid()}", command, env, root)
    try:
        yield base, term
    finally:
        term.close()


def test_a_whatsapp_conversation_from_the_keyboard(
    meta: Meta, desk_url: tuple[str, Terminal]
) -> None:
    base, terminal = desk_url
    fake = meta.fake
    webhook = f"{base}/channels/wa/webhook"
    terminal.wait_for(lambda s: "online" in s and "e2e" in s)

    # Meta checks the Callback URL first; the desk's server may still be starting.
    said = "no answer"
    for _ in range(150):
        try:
            answer = meta.run(fake.verify(webhook, VERIFY_TOKEN, challenge="31337"))
        except httpx.TransportError as exc:
            said = repr(exc)
        else:
            if answer.status_code == 200:
                break
            said = f"HTTP {answer.status_code}"
        meta.run(asyncio.sleep(0.1))
    else:
        raise AssertionError(f"the webhook never verified: {said}\n{terminal.screen()}")
    assert answer.text == "31337"

    inbound = fake.text(CUSTOMER, "Where is my parcel 4471?", name="Ana Lopez")
    wamid = inbound["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert meta.run(fake.post(webhook, inbound)).status_code == 200
    terminal.wait_for("Where is my parcel")
    terminal.keys("Enter")
    terminal.wait_for("Reply via")
    meta.wait(lambda: fake.reads == [wamid], "the read mark", terminal.screen)

    terminal.keys("r")
    terminal.type("It left our warehouse today")
    terminal.keys("C-s")
    terminal.wait_for(lambda s: "▶ e2e" in s)
    meta.wait(lambda: bool(fake.sent), "the reply reaching Meta", terminal.screen)
    [sent] = fake.sent
    assert sent.to == CUSTOMER and sent.text == "It left our warehouse today"
    assert sent.type == "text" and sent.key
    assert meta.run(fake.post(webhook, fake.status(sent, "sent"))).status_code == 200
    assert meta.run(fake.post(webhook, fake.status(sent, "delivered"))).status_code == 200
    terminal.wait_for("delivered")
    assert len(fake.sent) == 1
