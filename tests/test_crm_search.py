"""Search filters on customer fields (``company:acme``, ``plan:pro``, any field
a CRM gave), on the word index (SQLite) and the scan (memory) alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.api import ChannelStatus, DeskError
from agentdesk.api import requests as rq
from agentdesk.core.desk import Desk
from agentdesk.core.desk.crm import LookupAnswer
from agentdesk.core.desk.desk import DESK_ACTOR
from agentdesk.plugin import Capabilities, HealthState, InboundMessage
from agentdesk.query import QuerySyntaxError, parse_query
from agentdesk.store.memory import MemoryStore
from agentdesk.store.sqlite_store import SqliteStore


@pytest.fixture(params=["sqlite", "memory"])
def desk(request: pytest.FixtureRequest, tmp_path: Path, clock):
    store = SqliteStore.open(tmp_path / "store") if request.param == "sqlite" else MemoryStore()
    made = Desk(store, clock=clock)
    caps = Capabilities(kind="email", identity_kind="email", threading=True)
    made.register_channel(ChannelStatus("mail", "test", caps, HealthState.UP))
    yield made
    made.close()
    store.close()


async def customer_with(desk: Desk, email: str, fields: dict[str, str] | None) -> str:
    task = (await desk.ingest("mail", InboundMessage(email, "hello there"))).task
    if fields is not None:
        await desk.crm_answered(task.customer_id, [LookupAnswer("crm", fields=fields)])
    return task.id


async def found(desk: Desk, query: str) -> set[str]:
    page = await desk.handle(DESK_ACTOR, rq.Search(query=query))
    return {hit.task_id for hit in page.hits}


async def test_crm_fields_filter_the_customers_tasks(desk: Desk) -> None:
    ana = await customer_with(desk, "ana@acme.example", {"company": "Acme Corp", "plan": "Pro"})
    bo = await customer_with(desk, "bo@cafe.example", {"company": "Café Ltd", "plan": "Free"})
    cy = await customer_with(desk, "cy@example.com", None)
    assert await found(desk, "company:acme") == {ana}
    assert await found(desk, "COMPANY:Acme") == {ana}
    assert await found(desk, 'company:"acme corp"') == {ana}
    assert await found(desk, "company:cafe") == {bo}  # accents never matter
    assert await found(desk, "plan:pro") == {ana}
    assert await found(desk, "plan:pro OR plan:free") == {ana, bo}
    assert await found(desk, "-plan:pro") == {bo, cy}
    assert await found(desk, "company:acme plan:free") == set()
    assert await found(desk, "hello company:cafe") == {bo}


async def test_any_field_the_crm_gave_can_be_filtered_on(desk: Desk) -> None:
    with pytest.raises(DeskError) as caught:
        await found(desk, "last_order:4411")
    assert 'unknown filter "last_order:"' in str(caught.value)
    assert "company:" in str(caught.value)  # the fields it knows are listed
    ana = await customer_with(desk, "ana@acme.example", {"last_order": "A-4411"})
    assert await found(desk, "last_order:4411") == {ana}


def test_the_parser_knows_the_usual_fields_and_still_refuses_typos() -> None:
    (one,) = parse_query("plan:Pro").filters
    assert (one.key, one.field, one.value) == ("field:plan", "plan", "pro")
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("refund foo:bar")
    assert caught.value.position == 7
    assert parse_query("foo:bar", customer_fields=["foo"]).filters[0].field == "foo"
    with pytest.raises(QuerySyntaxError, match="expected a value"):
        parse_query('plan:""')
    with pytest.raises(QuerySyntaxError, match="joins different kinds"):
        parse_query("plan:pro OR company:acme")
