"""A small, fixed desk for looking at the console: a real ``Desk`` on an
in-memory store with a fixed clock, filled the way traffic would fill it.

Five channels, four customers, six tasks at known ages (one closed, one
pending and assigned to another agent, one handed off from chat to email).
"""

from __future__ import annotations

from fixed_clock import Clock

from agentdesk.api import ChannelStatus
from agentdesk.core.desk import Desk, LocalDeskClient
from agentdesk.domain import Priority, Status
from agentdesk.plugin import Capabilities, Delivery, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

NOW = 1_767_348_000.0  # 2026-01-02 10:00:00 UTC
HOUR = 3600.0

SAMPLE_CHANNELS = {
    "email": Capabilities(kind="email", identity_kind="email", threading=True, attachments=True),
    "chat": Capabilities(kind="chat", identity_kind="chat", realtime=True, typing_indicators=True),
    "sms": Capabilities(kind="sms", identity_kind="phone", max_text_length=480, segment_length=160),
    "social": Capabilities(kind="social", identity_kind="social", max_text_length=280),
    "phone": Capabilities(kind="phone", identity_kind="phone", realtime=True),
}


def empty_desk(clock: Clock | None = None) -> Desk:
    """The sample's channels, all up, and nothing on them yet."""
    desk = Desk(MemoryStore(), clock=clock or Clock(NOW))
    for name, caps in SAMPLE_CHANNELS.items():
        desk.register_channel(
            ChannelStatus(
                name=name, plugin=f"agentdesk_{caps.kind}", capabilities=caps, state=HealthState.UP
            )
        )
    return desk


async def fill(desk: Desk) -> None:
    """The sample's traffic, oldest first, each at its time; the clock ends at ``NOW``."""
    clock = desk.clock
    assert isinstance(clock, Clock)
    ana = LocalDeskClient(desk, "ana")
    ben = LocalDeskClient(desk, "ben")

    async def arrive(age: float, channel: str, item: InboundMessage):
        clock.now = NOW - age
        return (await desk.ingest(channel, item)).task

    label = await arrive(
        9 * 24 * HOUR,
        "email",
        InboundMessage(
            "ana@example.com",
            "Thanks, the label worked.",
            customer_name="Ana García",
            subject="Return label",
            other_identities=(("phone", "+34 600 111 222"), ("chat", "sess-ana")),
            attributes={"plan": "gold"},
        ),
    )
    await ana.set_status(label.id, Status.CLOSED)
    broken = await arrive(
        3 * HOUR,
        "chat",
        InboundMessage(
            "sess-ana",
            "Hi, my order #4411 arrived broken. Can I get a refund?",
            customer_name="Ana García",
        ),
    )
    await ana.set_priority(broken.id, Priority.HIGH)
    await ana.set_tags(broken.id, ["refund"])
    clock.now = NOW - 2 * HOUR
    await ana.handoff(
        broken.id,
        to_channel="email",
        to_identity="ana@example.com",
        message="Moving to email to send the return label.",
    )
    await deliver(desk)
    vat = await arrive(
        70 * 60,
        "email",
        InboundMessage(
            "bo@example.org",
            "Invoice for March is missing the VAT number.",
            customer_name="Bo Chen",
            subject="Invoice VAT",
            other_identities=(("social", "@bochen"),),
        ),
    )
    await ana.set_priority(vat.id, Priority.URGENT)
    address = await arrive(
        50 * 60,
        "chat",
        InboundMessage(
            "sess-dee",
            "Can I change the delivery address?",
            customer_name="Dee Okafor",
            other_identities=(("email", "dee@example.net"),),
        ),
    )
    clock.now = NOW - 45 * 60
    await ben.assign(address.id, "ben")
    await ben.reply(address.id, "Yes: which address should we use?")
    await deliver(desk)
    await ben.set_status(address.id, Status.PENDING)
    await ben.mark_read(address.id)
    logout = await arrive(
        25 * 60,
        "social",
        InboundMessage("@bochen", "@acme your app keeps logging me out", customer_name="Bo Chen"),
    )
    await ana.assign(logout.id, "ana")
    sunday = await arrive(
        4 * 60,
        "sms",
        InboundMessage(
            "+44 7700 900123", "Is the store open on Sunday?", customer_name="Cyrus Adeyemi"
        ),
    )
    await ana.set_priority(sunday.id, Priority.LOW)
    clock.now = NOW


async def deliver(desk: Desk) -> None:
    """Every queued reply delivered now, as a running channel would have done."""
    for entry in desk.outbox_due(desk.clock()):
        await desk.delivery_succeeded(entry, Delivery(state="delivered"))


async def sample_desk(clock: Clock | None = None) -> Desk:
    desk = empty_desk(clock)
    await fill(desk)
    return desk
