"""A real Synapse homeserver for the matrix channel's tests.

Synapse is installed in an environment of its own by
``tests/servers/install_synapse.sh`` (``.venv-synapse``), or found through
``AGENTDESK_SYNAPSE_PYTHON``; it is a test server only, run as a subprocess
and never imported. Each session starts one on loopback (a free port, SQLite,
no federation, no TLS, rate limits relaxed) and stops it at the end. Tests
register the accounts they need with the shared-secret admin API, under
names of their own, so they never see each other's rooms.

Enable the fixture with ``pytest_plugins = ["servers.synapse"]``: the
``synapse`` fixture is then one server for the whole run.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = "tests/servers/install_synapse.sh"
SERVER_NAME = "localhost"
#: Startup measured at 4-6 s on two cores; more when the machine is busy.
START_TIMEOUT = 90.0
# Far above anything a test does, so only an override makes a limit bite.
_RELAXED = {"per_second": 10_000, "burst_count": 10_000}


@dataclass(frozen=True, slots=True)
class Account:
    """A registered user: who they are and how to act as them."""

    user_id: str
    access_token: str
    device_id: str
    password: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


@dataclass
class Synapse:
    """A running homeserver: its client API address, and user registration."""

    url: str
    shared_secret: str
    folder: Path
    process: subprocess.Popen[bytes]
    server_name: str = SERVER_NAME

    def register(self, prefix: str, *, admin: bool = False, password: str = "") -> Account:
        """A new user ``@<prefix>-<random>:localhost`` through the shared-secret
        registration API (an HMAC of nonce, name, password and admin flag)."""
        username = f"{prefix}-{uuid.uuid4().hex[:8]}"
        password = password or secrets.token_urlsafe(12)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        with httpx.Client(timeout=30) as client:
            nonce = client.get(endpoint).raise_for_status().json()["nonce"]
            mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
            mac.update(
                b"\x00".join(
                    [
                        nonce.encode(),
                        username.encode(),
                        password.encode(),
                        b"admin" if admin else b"notadmin",
                    ]
                )
            )
            body = {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            answer = client.post(endpoint, json=body).raise_for_status().json()
        return Account(answer["user_id"], answer["access_token"], answer["device_id"], password)

    def limit_messages(self, admin: Account, user_id: str, per_second: int, burst: int) -> None:
        """Give ``user_id`` a message rate limit of its own (the admin API's
        override, whole numbers, 0 meaning none), so a test can make the
        homeserver answer 429."""
        with httpx.Client(timeout=30) as client:
            client.post(
                f"{self.url}/_synapse/admin/v1/users/{user_id}/override_ratelimit",
                json={"messages_per_second": per_second, "burst_count": burst},
                headers={"Authorization": f"Bearer {admin.access_token}"},
            ).raise_for_status()

    def log_tail(self, lines: int = 40) -> str:
        log = self.folder / "homeserver.log"
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def synapse_python() -> Path | None:
    """The python of an environment with matrix-synapse, or None."""
    given = os.environ.get("AGENTDESK_SYNAPSE_PYTHON")
    candidate = Path(given) if given else ROOT / ".venv-synapse" / "bin" / "python"
    return candidate if candidate.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, port: int, shared_secret: str) -> Path:
    """A homeserver.yaml (JSON is YAML) for one loopback test server."""
    log_config = folder / "log.yaml"
    log_config.write_text(
        json.dumps(
            {
                "version": 1,
                "formatters": {
                    "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                },
                "handlers": {
                    "file": {
                        "class": "logging.FileHandler",
                        "formatter": "plain",
                        "filename": str(folder / "homeserver.log"),
                    }
                },
                "root": {"level": "WARNING", "handlers": ["file"]},
                "disable_existing_loggers": False,
            }
        )
    )
    config = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(folder / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # The client API only: no federation, no key server.
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(folder / "media"),
        "signing_key_path": str(folder / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_registration": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "allow_public_rooms_over_federation": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "enable_metrics": False,
        "max_upload_size": "5M",
        # Test rooms are never encrypted: the channel reads plain events.
        "encryption_enabled_by_default_for_room_type": "off",
        "rc_message": _RELAXED,
        "rc_registration": _RELAXED,
        "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
        "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
        "rc_joins_per_room": _RELAXED,
        "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
        "rc_room_creation": _RELAXED,
        "rc_media_create": _RELAXED,
        "rc_admin_redaction": _RELAXED,
    }
    path = folder / "homeserver.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds until ``/_matrix/client/versions`` answered; fails with the log's tail."""
    began = time.monotonic()
    while time.monotonic() - began < START_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(
                f"Synapse exited with status {process.returncode}:\n"
                + (log.read_text(errors="replace")[-4000:] if log.exists() else "")
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/_matrix/client/versions", timeout=2).status_code == 200:
                return time.monotonic() - began
        time.sleep(0.1)
    raise RuntimeError(f"Synapse did not answer within {START_TIMEOUT:g} s")


@contextlib.contextmanager
def running_synapse(folder: Path) -> Iterator[Synapse]:
    """Start a homeserver in ``folder``; stop it on exit."""
    python = synapse_python()
    if python is None:
        skip_or_fail(
            f"Synapse is not installed: run `bash {INSTALL_SCRIPT}` (or set "
            "AGENTDESK_SYNAPSE_PYTHON to a python with matrix-synapse)"
        )
        raise AssertionError("unreachable")  # skip_or_fail raises
    port = free_port()
    shared_secret = secrets.token_hex(16)
    config = write_config(folder, port, shared_secret)
    command = [str(python), "-m", "synapse.app.homeserver", "--config-path", str(config)]
    subprocess.run(
        [*command, "--generate-keys"], check=True, cwd=folder, capture_output=True, timeout=120
    )
    output = (folder / "stdout.log").open("wb")
    process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Synapse(url, shared_secret, folder, process)
    try:
        seconds = wait_until_up(url, process, folder / "homeserver.log")
        print(f"Synapse answered on {url} after {seconds:.1f} s")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        output.close()


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One homeserver for the whole run (startup takes seconds)."""
    with running_synapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server
