"""Shared fixtures: a desk on an in-memory store with a fixed clock."""

from __future__ import annotations

import os

import pytest
from fixed_clock import Clock

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.plugin import Capabilities, HealthState
from agentdesk.store.memory import MemoryStore

CHANNELS = {
    "mail": Capabilities(kind="email", identity_kind="email", threading=True, attachments=True),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True, max_text_length=4000),
    "sms": Capabilities(kind="sms", identity_kind="phone", max_text_length=480, segment_length=160),
    "phone": Capabilities(kind="phone", identity_kind="phone", outbound=False),
}


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The user state directory of every test is its own: the console's drafts and
    preferences never leak between tests, nor into the real home directory."""
    home = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(clock: Clock) -> Desk:
    desk = Desk(MemoryStore(), clock=clock)
    for name, caps in CHANNELS.items():
        desk.register_channel(
            ChannelStatus(name=name, plugin="test", capabilities=caps, state=HealthState.UP)
        )
    return desk


@pytest.fixture
def client(desk: Desk) -> LocalDeskClient:
    return LocalDeskClient(desk, "ana")


def require_servers() -> bool:
    """Whether a missing test server must fail the run instead of skipping."""
    return os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with a visible reason, or fail when the run requires real servers."""
    if require_servers():
        pytest.fail(f"AGENTDESK_REQUIRE_SERVERS=1 but {reason}")
    pytest.skip(reason)
