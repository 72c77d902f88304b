"""A console in a real terminal: a detached tmux session of a given size,
keys typed, the screen read. The end-to-end tests share it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conftest import skip_or_fail


def require_tmux() -> None:
    if shutil.which("tmux") is None:
        skip_or_fail(
            "tmux is not installed (apt-get install tmux): the end-to-end console tests type "
            "into a real terminal"
        )


COLUMNS, ROWS = 120, 36


class Terminal:
    """A detached tmux session running one command."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        cwd: Path,
        size: tuple[int, int] = (COLUMNS, ROWS),
    ) -> None:
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
                str(size[0]),
                "-y",
                str(size[1]),
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
