"""End to end, as people: a visitor chats on the web site, the agent answers from the console.

The real ``agentdesk`` console runs in tmux on a config with one web chat
channel; headless Chromium opens the widget page the desk serves and the
visitor writes. The task shows in the inbox, the agent opens it and replies
with keys, and the reply appears in the visitor's browser. Needs tmux,
Debian's ``chromium`` and the ``playwright`` package: without them this test
skips, unless AGENTDESK_REQUIRE_SERVERS=1 makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import skip_or_fail
from test_webchat_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _missing
from tmux_terminal import COLUMNS, Terminal

ROWS = 40
CHANNEL = "site-chat"
VISITOR_TEXT = "Bonjour, my blue sofa never arrived. Élodie"
REPLY_TEXT = "We are on it, Élodie"
# Bounds for a loaded machine; each wait returns as soon as its condition holds.
CONSOLE_WAIT = 30.0
BROWSER_WAIT_MS = 20_000


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url: str, log: Path, timeout: float = CONSOLE_WAIT) -> None:
    """Poll ``url`` until it answers 200; fail with the desk's log otherwise.

    The header shows the channel up a moment before the HTTP server it needs
    listens, so the page is asked for directly.
    """
    deadline = time.monotonic() + timeout
    problem = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                problem = f"status {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            problem = str(exc)
        time.sleep(0.2)
    logged = log.read_text(encoding="utf-8") if log.exists() else "(no log)"
    raise AssertionError(f"{url} was never served ({problem}); the desk logged:\n{logged}")


def save_screen(terminal: Terminal) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-chat-loop-console.txt").write_text(terminal.screen(), encoding="utf-8")


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Terminal, str]]:
    """The configured console in tmux; yields it and the widget page's URL."""
    if shutil.which("tmux") is None:
        skip_or_fail("tmux is not installed (apt-get install tmux)")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        'agent = "ana"\n'
        f'store = "{tmp_path / "store"}"\n'
        "[http]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        "[[channels]]\n"
        'plugin = "webchat"\n'
        f'name = "{CHANNEL}"\n'
        # The page served by the desk is on the desk's own origin, which is
        # always allowed. A long receipt wait lets the reply be confirmed as
        # delivered even when the machine is slow.
        "delivery_wait_seconds = 10\n",
        encoding="utf-8",
    )
    env = {
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }
    command = [sys.executable, "-m", "agentdesk.cli", "--config", str(config)]
    root = Path(__file__).resolve().parent.parent
    term = Terminal(f"agentdesk-chat-loop-{os.getpid()}", command, env, root, (COLUMNS, ROWS))
    try:
        yield term, f"http://127.0.0.1:{port}/channels/{CHANNEL}/"
    finally:
        if term.exit_status() is None:  # the test stopped half-way: keep what it showed
            save_screen(term)
            term.keys("Escape", "q")
        term.close()


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A page the size of a chat widget in headless Chromium."""
    reason = _missing()
    if reason:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 420, "height": 640})
            context.set_default_timeout(BROWSER_WAIT_MS)
            yield context.new_page()
        finally:
            browser.close()


def test_visitor_writes_agent_replies_from_console(
    console: tuple[Terminal, str], browser_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    terminal, widget_url = console
    page = browser_page
    terminal.wait_for(lambda s: "● online" in s and f"{CHANNEL} ✔" in s, CONSOLE_WAIT)
    wait_until_served(widget_url, tmp_path / "agentdesk.log")

    # The visitor opens the chat on the site and writes.
    page.goto(widget_url)
    expect(page.locator("#chat-status")).to_have_text("Online")
    page.locator("#composer-text").fill(VISITOR_TEXT)
    page.locator("#composer-text").press("Enter")
    expect(page.locator("#chat-log .msg-visitor .text").last).to_have_text(VISITOR_TEXT)

    # The task arrives in the inbox; the agent opens it.
    terminal.wait_for(lambda s: "#1001" in s and "Bonjour, my blue sofa" in s, CONSOLE_WAIT)
    terminal.keys("Enter")
    # The thread loads after the title: wait for the visitor's words, accent and all.
    terminal.wait_for(
        lambda s: "#1001 Bonjour" in s.split("\n")[1] and "◀ chat-" in s and "Élodie" in s,
        CONSOLE_WAIT,
    )

    # The agent replies and sends with ctrl+s.
    terminal.keys("r")
    terminal.wait_for("^s Send", CONSOLE_WAIT)
    terminal.type(REPLY_TEXT)
    terminal.wait_for(f"{len(REPLY_TEXT)}/4000", CONSOLE_WAIT)
    # Meanwhile the visitor sees that an agent is writing.
    expect(page.locator("#chat-typing")).to_be_visible(timeout=BROWSER_WAIT_MS)
    terminal.keys("C-s")
    # The widget confirms the reply it shows: the console marks it delivered.
    sent = terminal.wait_for(lambda s: "▶ ana · ◆ CHT site-chat" in s and "✓✓" in s, CONSOLE_WAIT)
    assert REPLY_TEXT in sent, sent

    # The visitor sees the answer, signed by the agent.
    reply = page.locator("#chat-log .msg-agent").last
    expect(reply.locator(".text")).to_have_text(REPLY_TEXT, timeout=BROWSER_WAIT_MS)
    expect(reply.locator(".meta")).to_contain_text("ana")
    expect(page.locator("#chat-typing")).to_be_hidden(timeout=BROWSER_WAIT_MS)
    # The widget on screen reports the reply read: the console says so.
    terminal.wait_for(lambda s: "▶ ana · ◆ CHT site-chat" in s and "✓✓ read" in s, CONSOLE_WAIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-chat-loop-widget.png"))

    # The agent quits; the console exits cleanly.
    save_screen(terminal)
    terminal.wait_for("q Quit", CONSOLE_WAIT)
    terminal.keys("q")
    deadline = time.monotonic() + CONSOLE_WAIT
    while terminal.exit_status() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    screen = terminal.screen()
    assert terminal.exit_status() == 0, screen
    assert "Traceback" not in screen, screen
