"""End to end, as a person: ``agentdesk demo`` in tmux, keys typed, the screen read.

The simulated customers write in; the agent opens the longest waiting task,
replies, closes it (the next one opens), searches, and quits. Needs tmux.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
from tmux_terminal import COLUMNS, ROWS, Terminal, require_tmux


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    require_tmux()


@pytest.fixture
def terminal(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(
        'agent = "e2e"\n'
        f'store = "{tmp_path / "store"}"\n'
        '[canned]\nthanks = "Thank you {customer.first_name}, it is sorted."\n',
        encoding="utf-8",
    )
    env = {
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        # The size the console reads first; a stale value in the tmux server's
        # environment would otherwise win over the pane's real size.
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }
    command = [
        sys.executable,
        "-m",
        "agentdesk.cli",
        "--config",
        str(config),
        "demo",
        "--rate",
        "120",
        "--seed",
        "3",
    ]
    root = Path(__file__).resolve().parent.parent
    term = Terminal(f"agentdesk-e2e-{os.getpid()}", command, env, root)
    try:
        yield term
    finally:
        term.close()


def test_handle_a_task_from_the_keyboard(terminal: Terminal):
    # Customers write in: the inbox fills.
    terminal.wait_for(lambda s: re.search(r"#10\d\d", s) is not None and "online" in s)
    terminal.wait_for(lambda s: len(re.findall(r"#10\d\d", s)) >= 3)
    terminal.keys("Enter")
    opened = terminal.wait_for("Reply via")
    number = re.search(r"#(\d{4})", opened.split("\n")[1]).group(1)

    terminal.keys("r")
    terminal.type(";thanks")
    terminal.keys("Tab")
    terminal.wait_for("it is sorted.")
    terminal.keys("C-s")
    terminal.wait_for(lambda s: "▶ e2e" in s)

    terminal.keys("x")  # closes it, and the next waiting task opens

    def moved_on(screen: str) -> bool:
        return f"#{number}" not in screen.split("\n")[1]

    terminal.wait_for(moved_on)

    # Search finds it among closed tasks (unless its simulated customer wrote
    # again at once, which reopens it), and enter opens it again.
    terminal.keys("/")
    terminal.wait_for("Search syntax")
    terminal.type(f"#{number}")
    found = terminal.wait_for(lambda s: "1 result" in s)
    status = "closed" if f"#{number}" in found and "closed" in found else "reopened"
    terminal.keys("Enter")
    opened = terminal.wait_for(lambda s: f"#{number}" in s.split("\n")[1])
    if status == "reopened":
        assert "customer set closed → open" in opened, opened

    terminal.keys("q")
    # Quitting closes the desk (store checkpoint, channels stopped): give a
    # machine busy with disk work time to sync.
    deadline = time.monotonic() + 60
    while terminal.exit_status() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    screen = terminal.screen()
    assert terminal.exit_status() == 0, screen
    assert "Traceback" not in screen, screen
