"""wss: the hub served with its own certificate; a console that trusts it
works, one that does not is told plainly that it cannot connect."""

from __future__ import annotations

import ssl

import pytest
from self_signed import self_signed

from agentdesk.api import DeskError, ErrorCode
from agentdesk.remote import LinkState, RemoteDeskClient

from .conftest import Served


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def served_tls(desk, certificate):
    made = Served(desk, ssl=certificate)
    await made.start()
    yield made
    await made.close()


async def test_a_console_trusting_the_certificate_works_over_wss(served_tls, certificate):
    assert served_tls.url.startswith("wss://127.0.0.1:")
    task = await served_tls.write_in("a@b.co", "hello over tls")
    trusting = ssl.create_default_context(cafile=certificate[0])
    client = await served_tls.remote("ana", ssl=trusting)
    assert client.link.state == LinkState.ONLINE and client.me == "ana"
    assert (await client.note(task.id, "encrypted")).text == "encrypted"
    assert [t.id for t in (await client.snapshot()).tasks] == [task.id]


async def test_a_console_not_trusting_the_certificate_is_told_it_cannot_connect(served_tls):
    token = await served_tls.token("ana")
    client = RemoteDeskClient(served_tls.url, token, ssl=ssl.create_default_context())
    with pytest.raises(DeskError) as caught:
        await client.connect()
    assert caught.value.code == ErrorCode.UNAVAILABLE
    message = caught.value.message
    assert served_tls.url in message and "certificate verify failed" in message.lower()
    assert served_tls.hub.sessions == set()
    await client.close()
