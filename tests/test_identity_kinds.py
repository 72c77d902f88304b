"""Identity kinds brought by plugins: read, compared and checked as declared."""

from __future__ import annotations

import pytest

from agentdesk.api import ChannelStatus, DeskError
from agentdesk.plugin import Capabilities, Channel, HealthState, IdentityKind, InboundMessage
from agentdesk.plugin.validation import declaration_problems

MATRIX = IdentityKind(
    "matrix",
    label="Matrix user",
    pattern=r"@[^:\s]+:[^\s]+",
    example="@ana:example.org",
    case_sensitive=False,
)


class MatrixLike(Channel):
    plugin = "matrix-like"
    identity_kinds = (MATRIX,)
    capabilities = Capabilities(kind="social", identity_kind="matrix")

    async def start(self, ctx): ...
    async def stop(self): ...
    async def send(self, outbound): ...
    async def handoff_in(self, context): ...


@pytest.fixture
def matrix_desk(desk):
    desk.declare_identity_kinds(MatrixLike.identity_kinds)
    desk.register_channel(
        ChannelStatus("mx", "matrix-like", MatrixLike.capabilities, HealthState.UP)
    )
    return desk


async def test_addresses_of_a_declared_kind_compare_as_the_plugin_says(matrix_desk):
    first = await matrix_desk.ingest("mx", InboundMessage("@Ana:Example.org", "hello"))
    again = await matrix_desk.ingest("mx", InboundMessage(" @ana:example.org", "still me"))
    assert again.customer.id == first.customer.id and again.task.id == first.task.id
    assert [tuple(i) for i in first.customer.identities] == [("matrix", "@ana:example.org")]


async def test_a_handoff_to_a_declared_kind_is_checked_with_its_rules(matrix_desk, client):
    task = (await matrix_desk.ingest("mail", InboundMessage("ana@example.com", "hi"))).task
    with pytest.raises(DeskError) as refused:
        await client.handoff(task.id, to_channel="mx", to_identity="ana")
    assert "Matrix user" in refused.value.message and "@ana:example.org" in refused.value.message
    moved = await client.handoff(task.id, to_channel="mx", to_identity="@Ana:Example.org")
    customer = await client.customer(moved.customer_id)
    assert ("matrix", "@ana:example.org") in [tuple(i) for i in customer.identities]


def test_a_channel_must_declare_the_kind_it_reaches_customers_by():
    assert declaration_problems(MatrixLike) == []

    class Undeclared(MatrixLike):
        identity_kinds = ()

    [problem] = declaration_problems(Undeclared)
    assert "'matrix'" in problem and "identity_kinds" in problem


def test_the_first_declaration_of_a_kind_wins(desk):
    desk.declare_identity_kinds((MATRIX,))
    desk.declare_identity_kinds((IdentityKind("matrix", case_sensitive=True),))
    desk.declare_identity_kinds((IdentityKind("email", case_sensitive=True),))
    assert desk.kinds.normalize("matrix", "@A:B.c") == "@a:b.c"
    assert desk.kinds.normalize("email", "Ana@X.org") == "ana@x.org"  # built in stays
