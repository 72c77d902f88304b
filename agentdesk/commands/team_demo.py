"""``agentdesk demo --team``: the demo as a team — a hub, and this console on it.

The hub runs as its own process (``agentdesk serve --demo``) on a throwaway
store with three agents; this console connects to it over a real websocket
as ``you`` (an admin). The others' tokens are left in the demo's folder, so a
second terminal can join as ``sam`` (an agent) or ``lee`` (a lead).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

from agentdesk.api import Role
from agentdesk.api import requests as rq

from .base import CommandError
from .hub_target import TOKEN_VARIABLE, HubTarget

#: The team: (name, role, display name, skills); the demo routes by those skills.
TEAM = (
    ("you", Role.ADMIN, "You", ("en", "fr")),
    ("sam", Role.AGENT, "Sam", ("en",)),
    ("lee", Role.LEAD, "Lee", ("fr", "billing")),
)
READY_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_team(store: Path, folder: Path) -> dict[str, str]:
    """The demo's agents on the store; their tokens, also written as ``NAME.token``."""
    import asyncio

    from agentdesk.core.desk import Desk
    from agentdesk.core.desk.desk import DESK_ACTOR
    from agentdesk.store import open_store

    async def add() -> dict[str, str]:
        opened = open_store(store)
        desk = Desk(opened)
        try:
            tokens = {}
            for name, role, label, skills in TEAM:
                request = rq.AddAgent(name=name, role=role, display_name=label, skills=skills)
                made = await desk.handle(DESK_ACTOR, request)
                tokens[name] = made.token
            return tokens
        finally:
            await desk.read(opened.close)
            desk.close()

    tokens = asyncio.run(add())
    for name, token in tokens.items():
        path = folder / f"{name}.token"
        path.write_text(token + "\n", encoding="utf-8")
        path.chmod(0o600)
    return tokens


def start_hub(store: Path, folder: Path, *, rate: float, seed: int) -> tuple[subprocess.Popen, str]:
    """``agentdesk serve --demo`` on a free loopback port, once it answers; and its URL."""
    import httpx

    port = free_port()
    log = (folder / "hub.log").open("ab")
    command = [sys.executable, "-m", "agentdesk.cli", "--store", str(store), "serve", "--demo"]
    command += ["--demo-routing"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--rate", str(rate)]
    command += ["--seed", str(seed)]
    hub = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise CommandError(f"the demo hub stopped at once; see {folder / 'hub.log'}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return hub, f"ws://127.0.0.1:{port}/desk"
        time.sleep(0.1)
    stop_hub(hub)
    raise CommandError(f"the demo hub did not answer within {READY_SECONDS:.0f} s")


def stop_hub(hub: subprocess.Popen) -> None:
    """SIGTERM (the hub drains), then a kill if it does not end."""
    hub.terminate()
    try:
        hub.wait(15)
    except subprocess.TimeoutExpired:
        hub.kill()
        hub.wait()


def join_line(folder: Path, url: str, agent: str) -> str:
    return f"{TOKEN_VARIABLE}=$(cat {folder / (agent + '.token')}) agentdesk console --hub {url}"


def team_target(url: str, tokens: dict[str, str]) -> HubTarget:
    return HubTarget(url=url, token=tokens["you"], cafile=None)


def greeting(folder: Path, url: str) -> str:
    return (
        f"Team demo: a hub at {url}. Join from another terminal as Sam (agent):\n"
        f"{join_line(folder, url, 'sam')}\n(lee.token for Lee, a lead)"
    )


__all__ = ["add_team", "greeting", "join_line", "start_hub", "stop_hub", "team_target"]
