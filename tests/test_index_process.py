"""The search index written by a child process: searches see every acknowledged
message, the file ends consistent with the store, and a writer that dies is
replaced after the desk catches the index up."""

from __future__ import annotations

import os
import signal

import pytest

from agentdesk.core.client import ChannelStatus
from agentdesk.core.desk import Desk
from agentdesk.core.local_client import LocalDeskClient
from agentdesk.core.runtime import open_index
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.search import QuerySyntaxError, SearchIndex
from agentdesk.search.index_process import IndexProcess, IndexWriterFailed
from agentdesk.store.tiny import TinyStore


@pytest.fixture
def indexed(tmp_path, clock):
    store = TinyStore.open(tmp_path / "store")
    index = IndexProcess.start(tmp_path / "store" / "search.sqlite", store)
    desk = Desk(store, index=index, clock=clock)
    caps = Capabilities(kind="email", identity_kind="email")
    desk.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
    yield desk, LocalDeskClient(desk, "ana")
    index.close()
    store.close()


def messages(count: int, start: int = 0) -> list[InboundMessage]:
    return [
        InboundMessage(
            f"client{n % 7}@example.fr",
            f"colis numéro {n} toujours absent",
            subject=f"Commande {n}",
            external_id=f"<m{n}@example.fr>",
        )
        for n in range(start, start + count)
    ]


def consistent(tmp_path, store: TinyStore) -> list[str]:
    index = SearchIndex.open(tmp_path / "store" / "search.sqlite")
    try:
        return index.check(store)
    finally:
        index.close()


async def test_search_finds_what_was_just_ingested(indexed, tmp_path):
    desk, client = indexed
    await desk.ingest_many("mail", messages(40))
    await desk.ingest("mail", InboundMessage("zoe@example.fr", "Mon canapé bleu est arrivé"))
    page = await client.search("canape")
    assert [hit.customer_name for hit in page.hits] == ["zoe@example.fr"]
    assert (await client.search("colis")).total == 7  # one task per customer
    assert (await client.search("from:client3")).total == 1
    with pytest.raises(QuerySyntaxError):
        await client.search('"unbalanced')
    desk.index.close()
    assert consistent(tmp_path, desk.store) == []


async def test_a_writer_that_dies_is_replaced_and_nothing_is_missing(indexed, tmp_path):
    desk, client = indexed
    await desk.ingest_many("mail", messages(20))
    index: IndexProcess = desk.index
    index.refresh()
    first = index._child
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # A commit hands its batches to the dead writer (its death is noticed
    # later); the next search finds the writer gone, catches the index up
    # from the store and starts a new writer.
    await desk.ingest_many("mail", messages(20, start=20))
    page = await client.search("numéro 37")
    assert page.total == 1
    assert index._child is not first and index.failed is None
    # A commit that finds the writer gone does the same.
    second = index._child
    os.kill(second.pid, signal.SIGKILL)
    second.wait()
    index._threads[1].join(5)  # the writer's end is seen
    await desk.ingest_many("mail", messages(5, start=40))
    assert desk.index_error is None and index._child is not second
    assert (await client.search("numéro 44")).total == 1
    index.close()
    assert consistent(tmp_path, desk.store) == []


async def test_a_file_rebuilt_after_the_writer_died_is_the_one_searched(indexed, tmp_path):
    from agentdesk.search.schema import remove_files

    desk, client = indexed
    await desk.ingest_many("mail", messages(10))
    index: IndexProcess = desk.index
    index.refresh()
    os.kill(index._child.pid, signal.SIGKILL)
    index._child.wait()
    remove_files(tmp_path / "store" / "search.sqlite")  # lost with the writer
    await desk.ingest_many("mail", messages(10, start=10))  # rebuilt from the store
    assert (await client.search("numéro 3")).total == 1
    assert (await client.search("numéro 17")).total == 1
    index.close()
    assert consistent(tmp_path, desk.store) == []


async def test_an_index_reopened_continues_where_it_stopped(tmp_path, clock):
    store = TinyStore.open(tmp_path / "store")
    caps = Capabilities(kind="email", identity_kind="email")
    for round_ in range(2):
        index = open_index(tmp_path / "store" / "search.sqlite", store)
        assert isinstance(index, IndexProcess)
        desk = Desk(store, index=index, clock=clock)
        desk.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
        await desk.ingest_many("mail", messages(10, start=round_ * 10))
        assert index.search("colis").total == 7
        index.close()
        index.close()  # twice is fine
        with pytest.raises(IndexWriterFailed, match="closed"):
            index.search("colis")
    assert consistent(tmp_path, store) == []
    store.close()


def test_batches_cross_the_pipe_unchanged():
    import msgspec

    from agentdesk.domain import (
        Attachment,
        Customer,
        Direction,
        Identity,
        Message,
        OutboxEntry,
        Status,
        StatusChange,
        Task,
    )
    from agentdesk.domain.codec import CodecError
    from agentdesk.store import Batch
    from agentdesk.store.batch_codec import batch_from_plain

    batch = Batch(
        customers=[Customer(id="C1", name="Zoë", identities=[Identity("email", "z@x.fr")])],
        tasks=[Task(id="T1", number=1001, customer_id="C1", status=Status.PENDING, tags=["vip"])],
        events=[
            Message(
                id="E1",
                task_id="T1",
                customer_id="C1",
                at=1.5,
                direction=Direction.INBOUND,
                channel="mail",
                text="bonjour",
                attachments=[Attachment("a.pdf", "application/pdf", 12, None)],
            ),
            StatusChange(
                id="E2", task_id="T1", customer_id="C1", at=2.0, old=Status.OPEN, new=Status.PENDING
            ),
        ],
        outbox_put=[OutboxEntry(key="E9", event_id="E9", task_id="T1", channel="mail")],
        outbox_done=["E8"],
        state=[("mail", "cursor", {"uid": 42})],
        meta={"next_task_number": 1002},
    )
    plain = msgspec.msgpack.decode(msgspec.msgpack.encode(batch))
    assert batch_from_plain(plain) == batch
    # What it cannot build goes to the checking decoder, which says what is wrong.
    with pytest.raises(CodecError, match="unknown event kind"):
        batch_from_plain({"events": [{"kind": "hologram", "id": "E3"}]})
