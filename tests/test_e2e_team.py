"""End to end, as a team: a hub served by ``agentdesk serve --demo`` and two
consoles on it in real terminals, each an agent with their own token.

Sam (an agent) replies in his console and Ana (a lead) sees it in hers; Ana
takes the task and Sam may not take it from her, while Ana may give it to
him; the hub is killed (SIGKILL) and restarted: Sam's note written meanwhile
waits ("1 queued") and lands once; an admin revokes Sam and his console is
put out at once.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from served_hub import Served, add, agentdesk
from tmux_terminal import Terminal, require_tmux


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    require_tmux()


def console(tmp_path: Path, name: str, url: str, token: str, size: tuple[int, int]) -> Terminal:
    home = tmp_path / name
    env = {
        "TERM": "xterm-256color",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "AGENTDESK_TOKEN": token,
        "COLUMNS": str(size[0]),
        "LINES": str(size[1]),
    }
    command = [sys.executable, "-m", "agentdesk.cli", "console", "--hub", url]
    root = Path(__file__).resolve().parent.parent
    return Terminal(f"agentdesk-team-{name}-{os.getpid()}", command, env, root, size)


def test_two_consoles_share_one_desk_and_a_note_survives_the_hub_restarting(tmp_path: Path):
    store = tmp_path / "store"
    ana_token = add(store, "ana", "--role", "lead")
    sam_token = add(store, "sam")
    root_token = add(store, "root", "--role", "admin")
    demo = ("--demo", "--rate", "20", "--seed", "5")
    hub = Served(store, tmp_path / "hub.log", *demo)
    ana = console(tmp_path, "ana", hub.url, ana_token, (120, 36))
    sam = console(tmp_path, "sam", hub.url, sam_token, (80, 24))
    try:
        sam.wait_for(lambda s: "● online" in s and re.search(r"#10\d\d", s) is not None)
        ana.wait_for(lambda s: "● online" in s and " ana " in s.split("\n")[0])
        sam.keys("Enter")
        opened = sam.wait_for("Reply via")
        number = re.search(r"#(\d{4})", opened.split("\n")[1]).group(1)
        sam.keys("r")
        sam.type("Sam here, on it.")
        sam.keys("C-s")
        sam.wait_for("▶ sam")

        # Ana finds the task and reads Sam's reply in its thread.
        ana.keys("/")
        ana.wait_for("Search syntax")
        ana.type(f"#{number}")
        ana.wait_for("1 result")
        ana.keys("Enter")
        ana.wait_for(lambda s: "▶ sam" in s and "Sam here, on it." in s)

        # Ana takes it; Sam may not take it from her; Ana, a lead, gives it to him.
        prompt = "empty or - unassigns"
        ana.keys("a")
        ana.wait_for(prompt)
        ana.keys("Enter")  # pre-filled with her own name
        sam.wait_for("ana assigned the task to ana")
        sam.keys("a")
        sam.wait_for(prompt)
        sam.keys("Enter")
        refused = sam.wait_for("reassigning it")
        assert "queued" not in refused.split("\n")[0], refused  # refused is not waiting
        ana.keys("a")
        ana.wait_for(prompt)
        ana.keys("C-u")
        ana.type("sam")
        ana.keys("Enter")
        sam.wait_for("ana assigned the task to sam")

        # The hub dies: both consoles say so; Sam's note waits for it.
        hub.process.kill()
        hub.process.wait(10)
        sam.wait_for("offline")
        ana.wait_for("offline")
        sam.keys("n")
        sam.type("Called the courier.")
        sam.keys("C-s")
        sam.wait_for("1 queued")

        hub = Served(store, tmp_path / "hub-again.log", *demo, port=hub.port)
        sam.wait_for(lambda s: "● online" in s and "queued" not in s, timeout=60)
        ana.wait_for(lambda s: "Called the courier." in s, timeout=60)
        shown = ana.screen()
        assert shown.count("Called the courier.") == 1, shown

        # Revoked: Sam's console is put out at once and says why.
        revoked = agentdesk(
            "agents", "--hub", hub.url, "revoke", "sam", env={"AGENTDESK_TOKEN": root_token}
        )
        assert revoked.returncode == 0, revoked.stderr
        sam.wait_for("refused")
        sam.wait_for("revoked")
    finally:
        for terminal in (ana, sam):
            terminal.close()
        hub.stop()
