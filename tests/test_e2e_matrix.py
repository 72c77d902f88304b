"""End to end, as a person, on Matrix: ``agentdesk console`` in tmux with a
matrix channel signed in to a real Synapse on loopback.

A customer opens a direct room with the support bot and writes; the message
shows in the inbox. The agent replies from the keyboard; the customer's own
client reads the reply in the room, and its read receipt marks the reply
read on screen. Needs tmux and Synapse (tests/servers/install_synapse.sh).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from servers.matrix_customer import Customer
from tmux_terminal import COLUMNS, ROWS, Terminal, require_tmux

if TYPE_CHECKING:
    from servers.synapse import Account, Synapse

pytest_plugins = ["servers.synapse"]
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    require_tmux()


class Loop:
    """An event loop on a thread of its own, for the customer's client in a sync test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def loop() -> Iterator[Loop]:
    made = Loop()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def console(tmp_path: Path, synapse: Synapse) -> Iterator[tuple[Account, Terminal]]:
    bot = synapse.register("support")
    config = tmp_path / "config.toml"
    config.write_text(
        f'agent = "e2e"\nstore = "{tmp_path / "store"}"\n'
        '[[channels]]\nplugin = "matrix"\nname = "matrix"\n'
        f'homeserver = "{synapse.url}"\nuser_id = "{bot.user_id}"\n'
        'access_token = "${MATRIX_TOKEN}"\ndisplay_name = "Acme support"\n',
        encoding="utf-8",
    )
    env = {
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
        "MATRIX_TOKEN": bot.access_token,
    }
    command = [sys.executable, "-m", "agentdesk.cli", "--config", str(config), "console"]
    root = Path(__file__).resolve().parent.parent
    term = Terminal(f"agentdesk-matrix-{os.getpid()}", command, env, root)
    try:
        yield bot, term
    finally:
        term.close()


def test_a_matrix_conversation_from_the_keyboard(
    synapse: Synapse, loop: Loop, console: tuple[Account, Terminal]
) -> None:
    bot, terminal = console
    account = synapse.register("customer")
    customer = loop.run(Customer.login(synapse.url, account.user_id, account.password))
    try:
        loop.run(customer.set_name("Ana Martín"))
        terminal.wait_for(lambda s: "online" in s and "e2e" in s)
        room = loop.run(customer.open_direct(bot.user_id))
        loop.run(customer.say(room, "Where is my parcel 4471?"))
        terminal.wait_for("Where is my parcel", timeout=40)
        terminal.keys("Enter")
        terminal.wait_for("Reply via")
        terminal.keys("r")
        terminal.type("It left our warehouse today")
        terminal.keys("C-s")
        terminal.wait_for(lambda s: "▶ e2e" in s)
        deadline = time.monotonic() + 30
        replies: list[str] = []
        while time.monotonic() < deadline and not replies:
            replies = loop.run(customer.texts_from(room, bot.user_id))
            time.sleep(0.2)
        assert replies == ["It left our warehouse today"], terminal.screen()
        [sent] = [
            e
            for e in loop.run(customer.messages(room))
            if e["sender"] == bot.user_id and e["type"] == "m.room.message"
        ]
        assert "✓✓ read" not in terminal.screen()
        loop.run(customer.read(room, sent["event_id"]))
        terminal.wait_for("✓✓ read")
    finally:
        loop.run(customer.close())
