"""``agentdesk`` as its own process, and a hub served by one, for the tests
that run the commands as an operator does."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx


def agentdesk(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentdesk.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``agentdesk serve`` in its own process, JSON logs to a file."""

    def __init__(
        self,
        store: Path,
        log: Path,
        *extra: str,
        port: int | None = None,
        debug: bool = False,
        trust: str | None = None,
        config: Path | None = None,
    ) -> None:
        """``trust``: the certificate a TLS hub serves (given in ``extra``);
        ``config``: the hub's config file."""
        self.port = port or free_port()
        tls = trust is not None
        self.scheme = "https" if tls else "http"
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=trust) if trust else True
        )
        self.log = log
        command = [sys.executable, "-m", "agentdesk.cli", "--store", str(store)]
        command += ["--config", str(config)] if config is not None else []
        command += ["--debug", "serve"] if debug else ["serve"]
        command += ["--port", str(self.port), "--log-format", "json", *extra]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        self.url = f"{'wss' if tls else 'ws'}://127.0.0.1:{self.port}/desk"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                answer = httpx.get(self.http("/healthz"), timeout=1, verify=self.verify)
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the hub never answered /healthz:\n{log.read_text()}")

    def http(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


def add(store: Path, *argv: str) -> str:
    """``agents add`` on the store; the token it printed (its last line)."""
    done = agentdesk("--store", str(store), "agents", "add", *argv)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]
