"""End to end, as a person, with Twilio's numbers: ``agentdesk console`` in
tmux on a config with a twilio-sms and a twilio-voice channel, against our
local server that follows Twilio's API and signs its webhooks as Twilio does.

A text comes in and shows in the inbox; the agent replies from the
keyboard, the fake receives the reply and its status callback marks it
delivered on screen. The customer texts STOP: the next reply is refused
before it is queued, with the reason. A caller leaves a voicemail, its
transcription follows, and the agent finds the call by searching its words.
Needs tmux.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from servers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, NUMBER, FakeTwilio
from tmux_terminal import COLUMNS, ROWS, Terminal, require_tmux

CUSTOMER = "+33612345678"
CALLER = "+33698765432"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    require_tmux()


class Twilio:
    """The fake Twilio on a loop of its own, driven from this (sync) test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeTwilio()
        self.run(self.fake.__aenter__())

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def twilio() -> Iterator[Twilio]:
    made = Twilio()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def desk_url(tmp_path: Path, twilio: Twilio) -> Iterator[tuple[str, Terminal]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'agent = "e2e"\nstore = "{tmp_path / "store"}"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {port}\npublic_url = "{base}"\n'
        '[[channels]]\nplugin = "twilio-sms"\nname = "sms"\n'
        f'account_sid = "{ACCOUNT_SID}"\nauth_token = "${{TWILIO_TOKEN}}"\n'
        f'from_number = "{NUMBER}"\napi_base_url = "{twilio.fake.url}"\n'
        '[[channels]]\nplugin = "twilio-voice"\nname = "voice"\n'
        f'account_sid = "{ACCOUNT_SID}"\nauth_token = "${{TWILIO_TOKEN}}"\n'
        f'number = "{NUMBER}"\nforward_to = ""\napi_base_url = "{twilio.fake.url}"\n',
        encoding="utf-8",
    )
    env = {
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
        "TWILIO_TOKEN": AUTH_TOKEN,
    }
    command = [sys.executable, "-m", "agentdesk.cli", "--config", str(config), "console"]
    root = Path(__file__).resolve().parent.parent
    term = Terminal(f"agentdesk-twilio-{os.getpid()}", command, env, root)
    try:
        yield base, term
    finally:
        term.close()


def test_texts_and_a_voicemail_through_twilio_from_the_keyboard(
    twilio: Twilio, desk_url: tuple[str, Terminal]
) -> None:
    base, terminal = desk_url
    fake = twilio.fake
    terminal.wait_for(lambda s: "online" in s and "e2e" in s)

    def post_text(body: str) -> None:
        # The desk's HTTP server may still be starting: Twilio would retry too.
        said = "no answer"
        for _ in range(150):
            try:
                answer = twilio.run(
                    fake.send_inbound(f"{base}/channels/sms/inbound", sender=CUSTOMER, body=body)
                )
            except httpx.TransportError as exc:
                said = repr(exc)
            else:
                if answer.status_code == 200:
                    return
                said = f"HTTP {answer.status_code}"
            twilio.run(asyncio.sleep(0.1))
        raise AssertionError(f"the desk never took the text: {said}\n{terminal.screen()}")

    post_text("Where is my parcel 4471?")
    terminal.wait_for("Where is my parcel")
    terminal.keys("Enter")
    terminal.wait_for("Reply via")
    terminal.keys("r")
    terminal.type("It left our warehouse today")
    terminal.keys("C-s")
    terminal.wait_for(lambda s: "▶ e2e" in s)
    for _ in range(100):
        if fake.messages:
            break
        twilio.run(asyncio.sleep(0.1))
    [sent] = fake.messages
    assert sent.to == CUSTOMER and sent.body == "It left our warehouse today"
    twilio.run(fake.send_status(sent, "delivered"))
    terminal.wait_for("delivered")

    post_text("STOP")
    terminal.wait_for(lambda s: "STOP" in s)
    terminal.keys("Escape", "r")
    terminal.type("One more thing")
    terminal.keys("C-s")
    refused = terminal.wait_for("will not send this")
    assert "opted out" in refused, refused
    assert len(fake.messages) == 1  # nothing more reached Twilio

    # A caller leaves a voicemail; the transcription follows.
    terminal.keys("Escape", "Escape")
    call = fake.incoming_call(CALLER, status_url=f"{base}/channels/voice/status")
    twilio.run(call.arrive(f"{base}/channels/voice/voice"))
    twilio.run(call.leave_message(21))
    twilio.run(call.hang_up(30))
    twilio.run(call.transcribe("Hello, the lamp shade of order 2987 was missing."))
    terminal.wait_for(lambda s: "voicemail" in s.lower())
    terminal.keys("/")
    terminal.type("lamp shade")
    found = terminal.wait_for(lambda s: "2987" in s and "result" in s.lower(), timeout=30)
    assert CALLER[-4:] in found or "lamp" in found
