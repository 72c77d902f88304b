"""The header's sentence about a hub's link."""

from __future__ import annotations

from agentdesk.api.link import Link, LinkState


def test_offline_says_when_it_retries_and_what_waits():
    link = Link(LinkState.OFFLINE, "lost", retry_at=104.4, queued=2)
    assert link.describe(100.0) == "offline — reconnecting in 4 s · 2 queued"
    assert Link(LinkState.OFFLINE, retry_at=99.0).describe(100.0) == "offline — reconnecting"


def test_online_never_flickers_a_command_in_flight_as_queued():
    assert Link(LinkState.ONLINE, queued=1).describe(0.0) == "online"


def test_refused_says_why():
    link = Link(LinkState.REFUSED, "your access was revoked", queued=1)
    assert link.describe(0.0) == "refused: your access was revoked · 1 queued"
