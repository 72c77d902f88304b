"""The desk's messages: the codec's refusals, and the bus encoding each update once."""

from __future__ import annotations

import asyncio

import pytest

from agentdesk.api import DeskError, ErrorCode, Problem, Update
from agentdesk.api import requests as rq
from agentdesk.api.codec import decode, decode_request, encode
from agentdesk.core.desk.stream import UpdateBus


def test_a_malformed_request_is_invalid_and_names_the_field():
    with pytest.raises(DeskError) as caught:
        decode_request(b'{"op": "reply", "task_id": 7, "text": "hi"}')
    assert caught.value.code == ErrorCode.INVALID
    assert "task_id" in caught.value.message
    with pytest.raises(DeskError, match="op"):
        decode_request(b'{"op": "drop_tables"}')
    with pytest.raises(DeskError):
        decode_request(b"not json")


def test_every_request_has_its_own_op_and_reads_back():
    tags = [kind.__struct_config__.tag for kind in rq.REQUEST_TYPES]
    assert len(tags) == len(set(tags))
    request = rq.Transfer(task_id="T1", team="billing", note="over to you")
    assert decode_request(encode(request)) == request


def test_a_problem_travels_with_its_code():
    error = DeskError("no task with id T9", ErrorCode.NOT_FOUND)
    back = decode(encode(error.problem()), Problem).error()
    assert (back.code, back.message) == (ErrorCode.NOT_FOUND, "no task with id T9")


async def test_the_bus_encodes_an_update_once_for_every_subscriber():
    bus = UpdateBus()
    got: dict[str, list[bytes]] = {"ana": [], "bob": []}

    async def follow(agent: str) -> None:
        async for published in bus.subscribe(0, lambda u: u.to in (None, agent)):
            got[agent].append(published.data)
            if published.update.seq == 2:
                return

    followers = [asyncio.create_task(follow(a)) for a in got]
    await asyncio.sleep(0)
    shared = bus.publish(Update(seq=1, notices=["for everyone"]))
    bus.publish(Update(seq=1, notices=["for bob"], to="bob"))
    bus.publish(Update(seq=2))
    await asyncio.wait_for(asyncio.gather(*followers), 2)
    assert got["ana"][0] is got["bob"][0] is shared.data  # one encoding, shared
    assert [decode(d, Update).notices for d in got["ana"]] == [["for everyone"], []]
    assert [decode(d, Update).notices for d in got["bob"]] == [["for everyone"], ["for bob"], []]
