"""The desk keeps its search index level with the store on every commit."""

from __future__ import annotations

import pytest

from agentdesk.core.client import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.core.local_client import LocalDeskClient
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.search import QuerySyntaxError, SearchIndex
from agentdesk.store.memory import MemoryStore


@pytest.fixture
def indexed(tmp_path, clock):
    store = MemoryStore()
    index = SearchIndex.open(tmp_path / "search.sqlite")
    index.catch_up(store)  # as the runtime does on open
    desk = Desk(store, index=index, clock=clock)
    caps = Capabilities(kind="email", identity_kind="email")
    desk.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
    yield desk, LocalDeskClient(desk, "ana")
    index.close()


async def test_message_is_findable_once_acknowledged(indexed):
    desk, client = indexed
    await desk.ingest("mail", InboundMessage("elodie@example.fr", "Mon canapé bleu est arrivé"))
    page = await client.search("canape")
    assert [hit.number for hit in page.hits] == [1001]
    assert any(marked for _, marked in page.hits[0].snippet)


async def test_state_and_outbox_batches_keep_the_index_in_step(indexed):
    desk, client = indexed
    result = await desk.ingest("mail", InboundMessage("a@b.co", "refund please"))
    await desk.state_set("mail", "cursor", 42)
    await client.reply(result.task.id, "refund sent")
    await desk.ingest("mail", InboundMessage("a@b.co", "merci beaucoup"))
    assert desk.index.last_seq == desk.store.seq
    assert desk.index_error is None
    assert (await client.search("merci")).total == 1
    assert desk.index.check(desk.store) == []


async def test_a_bad_query_says_where(indexed):
    _, client = indexed
    with pytest.raises(QuerySyntaxError):
        await client.search('"unbalanced')
