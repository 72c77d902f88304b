"""The desk's search: in the store's own transactions, so level with it on every commit."""

from __future__ import annotations

import pytest

from agentdesk.api import ChannelStatus, DeskError, ErrorCode
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.store.sqlite_store import SqliteStore


@pytest.fixture
def indexed(tmp_path, clock):
    store = SqliteStore.open(tmp_path / "store")
    desk = Desk(store, clock=clock)
    caps = Capabilities(kind="email", identity_kind="email")
    desk.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
    yield desk, LocalDeskClient(desk, "ana")
    desk.close()
    store.close()


async def test_message_is_findable_once_acknowledged(indexed):
    desk, client = indexed
    await desk.ingest("mail", InboundMessage("elodie@example.fr", "Mon canapé bleu est arrivé"))
    page = await client.search("canape")
    assert [hit.number for hit in page.hits] == [1001]
    assert any(marked for _, marked in page.hits[0].snippet)


async def test_every_kind_of_change_keeps_search_level(indexed):
    desk, client = indexed
    result = await desk.ingest("mail", InboundMessage("a@b.co", "refund please"))
    await desk.state_set("mail", "cursor", 42)
    await client.reply(result.task.id, "refund sent")
    await desk.ingest_many(
        "mail", [InboundMessage("a@b.co", "merci beaucoup"), InboundMessage("c@d.co", "merci")]
    )
    assert (await client.search("merci")).total == 2
    assert (await client.search('"refund sent"')).hits[0].task_id == result.task.id
    await client.set_tags(result.task.id, ["vip"])
    assert [h.task_id for h in (await client.search("tag:vip")).hits] == [result.task.id]
    assert desk.store.integrity_check() == []


async def test_a_bad_query_says_where(indexed):
    _, client = indexed
    with pytest.raises(DeskError) as refused:
        await client.search('"unbalanced')
    assert refused.value.code == ErrorCode.INVALID
    assert "at 0" in refused.value.message
