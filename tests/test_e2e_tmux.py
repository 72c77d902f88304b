"""End to end, as a person: ``agentdesk demo`` in tmux, keys typed, the screen read.

The simulated customers write in; the agent opens the longest waiting task,
replies, closes it (the next one opens), searches, and quits. Needs tmux.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import skip_or_fail


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    if shutil.which("tmux") is None:
        skip_or_fail(
            "tmux is not installed (apt-get install tmux): the end-to-end console test types "
            "into a real terminal"
        )


COLUMNS, ROWS = 120, 36


class Terminal:
    """A detached tmux session running one command."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        # The exit status is written by a shell around the command: tmux can show
        # a dead pane whose status it has not collected yet (seen under load).
        handle, status = tempfile.mkstemp(prefix="agentdesk-e2e-", suffix=".status")
        os.close(handle)
        self.status_file = Path(status)
        self.status_file.unlink()
        script = 'status_file=$1; shift; "$@"; echo $? > "$status_file"'
        command = ["sh", "-c", script, "sh", str(self.status_file), *command]
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(COLUMNS),
                "-y",
                str(ROWS),
                "-c",
                str(cwd),
                *[f"-e{key}={value}" for key, value in env.items()],
                *command,
            ],
            check=True,
        )
        # Keep the pane after the console exits, to read its last screen and status.
        subprocess.run(["tmux", "set-option", "-t", name, "remain-on-exit", "on"], check=True)

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def exit_status(self) -> int | None:
        """The console's exit status once it has exited, else None."""
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        self.status_file.unlink(missing_ok=True)

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 30.0) -> str:
        """Poll the screen until it shows ``what``; fail with the last screen."""
        check = what if callable(what) else (lambda screen: what in screen)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            assert "Traceback (most recent call last)" not in screen, screen
            if check(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed {what!r}; it shows:\n{screen}")


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
