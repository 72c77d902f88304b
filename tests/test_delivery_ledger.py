"""The plugin API's delivery ledger: a reply's key is durable before the send
and its message id after, so a retry never sends twice."""

from __future__ import annotations

from agentdesk.plugin import DeliveryLedger
from agentdesk.plugin.delivery_ledger import MEMORY
from agentdesk.plugin.testing import MemoryState


async def test_a_key_begun_then_done_survives_a_restart_and_is_found_by_its_id() -> None:
    state = MemoryState()
    ledger = DeliveryLedger(state, clock=lambda: 100.0)
    assert ledger.get("k1") is None
    begun = await ledger.begin("k1")
    assert (begun.external_id, begun.began) == (None, 100.0)
    # Written before the send: a crash now leaves the key begun, not forgotten.
    again = DeliveryLedger(state)
    assert again.get("k1") is not None and again.get("k1").external_id is None
    await ledger.done("k1", "SM1")
    after_restart = DeliveryLedger(state)
    assert after_restart.get("k1").external_id == "SM1"
    assert after_restart.key_for("SM1") == "k1" and after_restart.known_ids() == {"SM1"}


async def test_learn_settles_only_what_began_and_forget_only_what_never_went() -> None:
    ledger = DeliveryLedger(MemoryState())
    await ledger.begin("k1")
    await ledger.learn("k1", "SM1")  # a status callback named it
    await ledger.learn("k1", "SM2")  # a settled key is not re-credited
    assert ledger.get("k1").external_id == "SM1"
    await ledger.forget("k1")  # it went: not forgotten
    assert ledger.get("k1") is not None
    await ledger.begin("k2")
    await ledger.forget("k2")  # refused for sure: the next try may send
    assert ledger.get("k2") is None


async def test_it_keeps_the_latest_keys_and_reads_the_first_form() -> None:
    state = MemoryState()
    await state.set("deliveries", {"old": {"sid": "SM0", "at": 1.0}})
    ledger = DeliveryLedger(state)
    assert ledger.get("old").external_id == "SM0"
    for n in range(MEMORY + 5):
        await ledger.begin(f"k{n}")
    assert ledger.get("old") is None and ledger.get("k0") is None
    assert ledger.get(f"k{MEMORY + 4}") is not None
    own = DeliveryLedger(state, state_key="calls")  # a second ledger beside it
    assert own.get(f"k{MEMORY + 4}") is None
