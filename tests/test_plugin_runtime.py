"""Channels under supervision, against a real desk on the in-memory store.

Broken and misbehaving channels come from tests/plugin_examples; each must be
contained: reported, restarted with backoff, or refused by the desk, while
the other channels keep running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from calling_channel import Caller

from agentdesk.core.config import ChannelConfig, Config, HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.host.channel_runtime import ChannelRuntime, RuntimeSettings
from agentdesk.core.host.discovery import PluginCatalog, discover
from agentdesk.core.survey_config import SurveyConfig
from agentdesk.domain import DeliveryState, Message, Status
from agentdesk.plugin import Capabilities, Channel, HandoffContext, HealthState, InboundMessage
from agentdesk.store.memory import MemoryStore

EXAMPLES = Path(__file__).parent / "plugin_examples"
FAST = RuntimeSettings(
    restart_base=0.01,
    restart_cap=0.05,
    send_timeout=0.3,
    start_timeout=2.0,
    stop_timeout=2.0,
    queue_size=50,
)


@pytest.fixture(scope="module")
def catalog() -> PluginCatalog:
    return discover([EXAMPLES], entry_points=None)


def config_for(tmp_path: Path, *channels: tuple[str, str, dict[str, Any]]) -> Config:
    return Config(
        source="test.toml",
        store=tmp_path / "store",
        http=HttpConfig(host="127.0.0.1", port=0),
        channels=[
            ChannelConfig(plugin, name, options, index)
            for index, (plugin, name, options) in enumerate(channels)
        ],
    )


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class BatchingDesk(Desk):
    """A desk that also takes items in batches (as a desk with group ingest does)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_sizes: list[int] = []

    async def ingest_many(self, channel: str, items: list[Any]) -> list[Any]:
        self.batch_sizes.append(len(items))
        for _ in range(10):  # the commit's wait for the disk, during which channels emit
            await asyncio.sleep(0)
        results: list[Any] = []
        for item in items:
            try:
                results.append(await self.ingest(channel, item))
            except Exception as exc:
                results.append(exc)
        return results


class CursorKeeper(Channel):
    """Emits a burst of messages, then saves how far it got (as a mailbox poller does)."""

    plugin = "cursor-keeper"
    capabilities = Capabilities(kind="sms", identity_kind="phone")

    async def start(self) -> None:
        self.context.spawn(self._poll())

    async def _poll(self) -> None:
        for n in range(300):
            await self.context.emit(InboundMessage(f"+3361000{n % 20:04d}", f"m{n}", f"id-{n}"))
        await self.context.state.set("cursor", 300)


class LateRoute(Channel):
    """Does not declare needs_http, but adds a route when it starts."""

    plugin = "late-route"
    capabilities = Capabilities(kind="chat", identity_kind="chat")

    async def start(self) -> None:
        self.context.add_route("/ping", self.ping)

    async def ping(self, request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(f"pong from {self.context.channel_name}")


class Harness:
    def __init__(
        self, tmp_path: Path, catalog: PluginCatalog, desk_class: type[Desk] = Desk
    ) -> None:
        self.tmp_path = tmp_path
        self.catalog = catalog
        self.desk = desk_class(MemoryStore())
        self.history: list[tuple[str, dict[str, Any]]] = []
        update = self.desk.update_channel

        def spy(name: str, **changes: Any) -> None:
            self.history.append((name, changes))
            update(name, **changes)

        self.desk.update_channel = spy  # type: ignore[method-assign]
        self.runtime: ChannelRuntime | None = None

    async def start(self, *channels: tuple[str, str, dict[str, Any]]) -> ChannelRuntime:
        config = config_for(self.tmp_path, *channels)
        self.runtime = ChannelRuntime(self.desk, config, catalog=self.catalog, settings=FAST)
        await self.runtime.start()
        return self.runtime

    def status(self, name: str):
        return self.desk.channel(name)

    def states(self, name: str) -> list[str]:
        return [c["state"] for n, c in self.history if n == name and "state" in c]

    def messages(self, channel: str) -> list[Message]:
        return [
            e
            for e in self.desk.store.iter_events()
            if isinstance(e, Message) and e.channel == channel
        ]

    async def wait_up(self, name: str) -> None:
        await until(lambda: self.status(name).state == HealthState.UP, f"{name} up")


@pytest.fixture
async def harness(tmp_path: Path, catalog: PluginCatalog) -> AsyncIterator[Harness]:
    before = asyncio.all_tasks()
    h = Harness(tmp_path, catalog)
    yield h
    if h.runtime is not None:
        await h.runtime.stop()
    for _ in range(3):
        await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leaked == [t for t in leaked if t is asyncio.current_task()], leaked


async def test_two_simulators_feed_one_customer_timeline(harness: Harness) -> None:
    runtime = await harness.start(
        ("simulator", "sim-email", {"kind": "email", "rate": 0, "count": 40, "seed": 3}),
        ("simulator", "sim-sms", {"kind": "sms", "rate": 0, "count": 40, "seed": 3}),
        ("simulator", "sim-phone", {"kind": "phone", "rate": 0, "count": 40, "seed": 3}),
    )
    await until(lambda: all(p.counters.ingested == 40 for p in runtime.pumps.values()), "120 items")
    assert {s.name: s.state for s in harness.desk.channels()} == dict.fromkeys(
        ("sim-email", "sim-sms", "sim-phone"), HealthState.UP
    )
    assert harness.status("sim-sms").capabilities.max_text_length == 1600
    assert not harness.status("sim-phone").capabilities.outbound
    store = harness.desk.store
    journeys = [{t.channel for t in store.tasks_of_customer(c.id)} for c in store.customers()]
    assert any(len(channels) >= 2 for channels in journeys), journeys
    assert not runtime.http.running  # no channel needs HTTP


async def test_a_closed_task_is_surveyed_through_the_running_channel(harness: Harness) -> None:
    harness.desk.set_surveys(SurveyConfig(ask=("csat", "ces"), delay=0))
    options = {"kind": "chat", "rate": 0, "count": 1, "reply_delay": 0, "survey_answers": 1}
    await harness.start(("simulator", "sim-chat", options))
    await until(lambda: len(harness.messages("sim-chat")) == 1, "the first chat message")
    task = next(iter(harness.desk.store.tasks()))
    client = LocalDeskClient(harness.desk, "ana")
    reply = await client.reply(task.id, "Your issue is resolved. Have a nice day!")
    await client.set_status(task.id, Status.CLOSED)
    await harness.desk.send_due_surveys()  # what the runtime's clock tick does
    await until(
        lambda: (
            harness.desk.store.get_event(reply.id).delivery == DeliveryState.SENT
            or harness.desk.store.get_event(reply.id).delivery == DeliveryState.DELIVERED
        ),
        "the reply delivered",
    )

    def answered() -> list[tuple[str, str]]:
        events = harness.desk.store.events_of_task(task.id)
        return sorted((e.metric, e.agent) for e in events if e.kind == "survey")

    await until(lambda: len(answered()) == 2, "both questions answered by the rating")
    assert answered() == [("ces", "ana"), ("csat", "ana")]
    assert harness.desk.store.outbox() == []


async def test_a_channel_failing_to_start_is_restarted_with_backoff(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.start(("crash-on-start", "sms", {"fail_times": 4}))
    await harness.wait_up("sms")
    assert harness.states("sms") == [
        HealthState.STARTING,
        HealthState.DEGRADED,
        HealthState.STARTING,
        HealthState.DEGRADED,
        HealthState.STARTING,
        HealthState.DOWN,  # three failures in a row
        HealthState.DOWN,  # and down it stays while it tries again
        HealthState.UP,
    ]
    started = [r for r in caplog.records if "start() failed" in r.getMessage()]
    assert len(started) == 4 and all(r.exc_info for r in started)  # with the traceback
    failures = [c for n, c in harness.history if c.get("state") == HealthState.DOWN]
    assert failures[0]["last_error"] == "ChannelConnectionError: gateway unreachable (start 3)"
    assert failures[0]["next_retry_at"] is not None
    status = harness.status("sms")
    assert status.restarts == 4 and status.next_retry_at is None


async def test_a_crashed_background_task_restarts_the_channel(harness: Harness) -> None:
    await harness.start(("crashing-task", "poller", {}))
    await until(lambda: harness.status("poller").restarts == 1, "one restart")
    await harness.wait_up("poller")
    degraded = [c for n, c in harness.history if c.get("state") == HealthState.DEGRADED]
    assert degraded[0]["last_error"] == (
        "a background task crashed: RuntimeError: poll loop lost its connection"
    )


async def test_a_hanging_send_degrades_and_the_reply_goes_out_once(harness: Harness) -> None:
    runtime = await harness.start(("hanging-send", "slow-sms", {}))
    await harness.wait_up("slow-sms")
    result = await harness.desk.ingest("slow-sms", InboundMessage("+33611111111", "bonjour"))
    reply = await LocalDeskClient(harness.desk, "ana").reply(result.task.id, "Bonjour !")
    await until(
        lambda: harness.desk.store.get_event(reply.id).delivery == DeliveryState.SENT,
        "delivery after the restart",
    )
    degraded = [c for n, c in harness.history if c.get("state") == HealthState.DEGRADED]
    assert degraded[0]["last_error"] == "send() did not return within 0.3 s"
    assert harness.desk.state_get("slow-sms", "sent") == [reply.id]
    assert runtime.dispatcher.sent == 1


async def test_temporary_failures_retry_and_permanent_ones_fail(harness: Harness) -> None:
    await harness.start(("flaky-send", "flaky", {}))
    await harness.wait_up("flaky")
    client = LocalDeskClient(harness.desk, "ana")
    good = await harness.desk.ingest("flaky", InboundMessage("+33622222222", "allô"))
    bad = await harness.desk.ingest("flaky", InboundMessage("+33600000000", "allô"))
    ok_reply = await client.reply(good.task.id, "On s'en occupe.")
    bad_reply = await client.reply(bad.task.id, "On s'en occupe.")
    event = harness.desk.store.get_event
    await until(lambda: event(ok_reply.id).delivery == DeliveryState.SENT, "retried delivery")
    await until(lambda: event(bad_reply.id).delivery == DeliveryState.FAILED, "refusal")
    assert event(bad_reply.id).delivery_error == "number does not exist"
    assert harness.desk.state_get("flaky", "tries") == 3
    assert harness.status("flaky").state == HealthState.UP


async def test_replies_queued_while_channels_were_stopped_go_out_after(
    harness: Harness,
) -> None:
    first = await harness.start(("crash-on-start", "sms", {"fail_times": 0}))
    await harness.wait_up("sms")
    result = await harness.desk.ingest("sms", InboundMessage("+33633333333", "hello"))
    await first.stop()
    reply = await LocalDeskClient(harness.desk, "ana").reply(result.task.id, "Hi!")
    assert [e.key for e in harness.desk.store.outbox()] == [reply.id]
    failures = []
    delivery_failed = harness.desk.delivery_failed

    async def spy(entry: Any, error: str, **kw: Any) -> None:
        failures.append(error)
        await delivery_failed(entry, error, **kw)

    harness.desk.delivery_failed = spy  # type: ignore[method-assign]
    await harness.start(("crash-on-start", "sms", {"fail_times": 0}))
    await until(
        lambda: harness.desk.store.get_event(reply.id).delivery == DeliveryState.SENT,
        "delivery by the new runtime",
    )
    assert harness.desk.store.get_event(reply.id).external_id == f"ok-{reply.id}"
    assert failures == []  # the reply waited for the channel to come up


async def test_malformed_inbound_is_refused_or_cleaned_and_the_desk_goes_on(
    harness: Harness,
) -> None:
    runtime = await harness.start(("malformed", "hostile", {}))
    pump = runtime.pumps["hostile"]
    await until(lambda: pump.counters.ingested + pump.counters.rejected == 7, "seven items")
    assert pump.counters.rejected == 3  # no sender, a blank sender, an empty message
    assert pump.counters.failed == 0
    by_sender = {m.identity.split(":", 1)[-1]: m for m in harness.messages("hostile")}
    huge = by_sender["+33600000001"].text
    assert len(huge) < 1_000_000 and "more characters not shown" in huge
    assert "\ufffd" in by_sender["+33600000002"].text
    hostile = next(m for sender, m in by_sender.items() if sender.startswith("+33600000003"))
    customer = harness.desk.store.get_customer(hostile.customer_id)
    for text in (hostile.text, hostile.identity, customer.name):
        assert "\x1b" not in text and "\x07" not in text
    assert by_sender["+33600000005"].text == "an ordinary message"
    assert harness.status("hostile").state == HealthState.UP


async def test_a_flooding_channel_is_held_back_and_cannot_starve_the_loop(
    harness: Harness,
) -> None:
    runtime = await harness.start(("flooder", "flood", {"count": 1000}))
    pump = runtime.pumps["flood"]
    deepest = 0
    widest_gap = 0
    last = 0
    while pump.counters.ingested < 1000:
        # How many items went in since this task last had the loop.
        widest_gap = max(widest_gap, pump.counters.ingested - last)
        last = pump.counters.ingested
        deepest = max(deepest, pump.queue.qsize())
        await asyncio.sleep(0)
    assert deepest <= FAST.queue_size
    assert widest_gap <= 64  # one drain batch, then everyone else runs


async def test_unknown_plugin_and_unknown_option_leave_the_others_running(
    harness: Harness,
) -> None:
    await harness.start(
        ("carrier-pigeon", "birds", {}),
        ("simulator", "typo", {"kind": "sms", "colour": "red"}),
        ("simulator", "fine", {"kind": "sms", "rate": 0, "count": 1}),
    )
    birds, typo = harness.status("birds"), harness.status("typo")
    assert birds.state == HealthState.DOWN
    assert birds.last_error.startswith("test.toml: channels[0].plugin: unknown plugin")
    assert "simulator" in birds.last_error
    assert typo.state == HealthState.DOWN
    assert typo.last_error.startswith("test.toml: channels[1].colour: unknown option")
    await harness.wait_up("fine")


async def test_handoff_asks_the_target_channel_for_its_first_message(harness: Harness) -> None:
    await harness.start(("simulator", "sim-email", {"kind": "email", "count": 0, "rate": 0.01}))
    await harness.wait_up("sim-email")
    handoff = HandoffContext("t1", 1042, "Zoé", "zoe@example.fr", "chat", "Suite de notre chat")
    outbound = await harness.desk.handoff_gateway("sim-email", handoff)
    assert outbound.to == "zoe@example.fr" and outbound.text == "Suite de notre chat"
    assert await harness.desk.handoff_gateway("nowhere", handoff) is None


async def test_stop_marks_channels_stopped(harness: Harness) -> None:
    runtime = await harness.start(("simulator", "sim", {"kind": "sms", "rate": 0.01}))
    await harness.wait_up("sim")
    await runtime.stop()
    harness.runtime = None
    assert harness.status("sim").state == HealthState.STOPPED
    assert harness.desk.handoff_gateway is None


async def test_a_saved_cursor_never_runs_ahead_of_the_stored_messages(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    catalog = PluginCatalog(dict(catalog.channels), {}, [])
    catalog.channels["cursor-keeper"] = CursorKeeper
    harness = Harness(tmp_path, catalog)
    stored_at_save: list[int] = []
    state_set = harness.desk.state_set

    async def spy(namespace: str, key: str, value: Any) -> None:
        stored_at_save.append(len(harness.messages("poller")))
        await state_set(namespace, key, value)

    harness.desk.state_set = spy  # type: ignore[method-assign]
    runtime = await harness.start(("cursor-keeper", "poller", {}))
    await until(lambda: harness.desk.state_get("poller", "cursor") == 300, "the cursor")
    assert stored_at_save == [300]
    await runtime.stop()


async def test_a_desk_that_takes_batches_gets_them(tmp_path: Path, catalog: PluginCatalog) -> None:
    harness = Harness(tmp_path, catalog, BatchingDesk)
    runtime = await harness.start(("flooder", "flood", {"count": 500}), ("malformed", "bad", {}))
    flood, bad = runtime.pumps["flood"], runtime.pumps["bad"]
    await until(lambda: flood.counters.ingested == 500, "the flood")
    await until(lambda: bad.counters.ingested + bad.counters.rejected == 7, "the hostile items")
    assert bad.counters.rejected == 3 and harness.messages("bad")[-1].text == "an ordinary message"
    sizes = harness.desk.batch_sizes
    assert sum(sizes) == 507 and max(sizes) > 1
    await runtime.stop()


async def test_the_http_server_starts_once_a_channel_adds_a_route(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    import httpx

    catalog = PluginCatalog(dict(catalog.channels), {}, [])
    catalog.channels["late-route"] = LateRoute
    harness = Harness(tmp_path, catalog)
    runtime = await harness.start(("late-route", "a", {}), ("late-route", "b", {}))
    await harness.wait_up("a")
    await harness.wait_up("b")
    assert runtime.http.running
    async with httpx.AsyncClient(base_url=runtime.http.base_url) as client:
        assert (await client.get("/channels/a/ping")).text == "pong from a"
        assert (await client.get("/channels/b/ping")).text == "pong from b"
        assert (await client.get("/healthz")).text == "ok"
    await runtime.stop()
    assert not runtime.http.running


async def test_a_reply_on_a_channel_whose_plugin_cannot_load_waits_in_the_outbox(
    harness: Harness,
) -> None:
    first = await harness.start(("crash-on-start", "sms", {"fail_times": 0}))
    await harness.wait_up("sms")
    result = await harness.desk.ingest("sms", InboundMessage("+33644444444", "hello"))
    await first.stop()
    # Restarted with a config the plugin refuses: the channel shows down, and
    # the agent's reply is queued, not refused and lost.
    broken = await harness.start(("crash-on-start", "sms", {"colour": "red"}))
    assert harness.status("sms").state == HealthState.DOWN
    client = LocalDeskClient(harness.desk, "ana")
    reply = await client.reply(result.task.id, "We are on it.")
    assert reply.delivery == DeliveryState.QUEUED and reply.channel_kind == "sms"
    assert reply.identity == "phone:+33644444444"
    assert [e.key for e in harness.desk.store.outbox()] == [reply.id]
    await until(lambda: harness.desk.store.outbox()[0].attempts >= 1, "a first attempt")
    attempt = harness.desk.store.get_event(reply.id)
    assert attempt.delivery != DeliveryState.FAILED  # waiting, not given up
    await broken.stop()
    await harness.start(("crash-on-start", "sms", {"fail_times": 0}))
    await until(
        lambda: harness.desk.store.get_event(reply.id).delivery == DeliveryState.SENT,
        "delivery once the plugin loads",
        timeout=15,
    )


class Gatekeeper(Channel):
    """Knows who opted out, and says so before a reply is queued; and one
    address on which its check itself breaks."""

    plugin = "gatekeeper"
    capabilities = Capabilities(kind="sms", identity_kind="phone")

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.sent: list[str] = []

    async def start(self) -> None:
        for number in ("+33600000001", "+33600000002", "+33600000003"):
            await self.context.emit(InboundMessage(number, "hello"))

    def refuse(self, to: str, text: str) -> str | None:
        if to == "+33600000002":
            return "the customer has opted out (STOP) \x1b[2J"
        if to == "+33600000003":
            raise RuntimeError("the check broke")
        return None

    async def send(self, outbound: Any) -> Any:
        from agentdesk.plugin import Delivery

        self.sent.append(outbound.to)
        return Delivery(external_id=f"ok-{outbound.key}")


async def test_a_channel_refuses_a_reply_before_it_is_queued(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    from agentdesk.api import DeskError, ErrorCode

    catalog = PluginCatalog(dict(catalog.channels), {}, [])
    catalog.channels["gatekeeper"] = Gatekeeper
    harness = Harness(tmp_path, catalog)
    await harness.start(("gatekeeper", "sms", {}))
    try:
        await until(lambda: len(harness.messages("sms")) == 3, "three customers")
        store = harness.desk.store
        tasks = {store.get_customer(t.customer_id).identities[0].value: t for t in store.tasks()}
        client = LocalDeskClient(harness.desk, "ana")
        with pytest.raises(DeskError) as refused:
            await client.reply(tasks["+33600000002"].id, "Your parcel left today")
        assert refused.value.code == ErrorCode.CHANNEL_UNAVAILABLE
        assert refused.value.message == "sms will not send this: the customer has opted out (STOP)"
        assert harness.desk.store.outbox() == []  # nothing queued, nothing on the timeline
        assert len(harness.messages("sms")) == 3
        # A check that breaks refuses nothing: send has the last word.
        sent = await client.reply(tasks["+33600000003"].id, "Your parcel left today")
        fine = await client.reply(tasks["+33600000001"].id, "Your parcel left today")
        await until(lambda: store.outbox() == [], "both sent")
        assert {store.get_event(sent.id).delivery, store.get_event(fine.id).delivery} == {
            DeliveryState.SENT
        }
        # A channel that is not running refuses nothing: replies wait for it.
        assert harness.runtime is not None
        await harness.runtime.stop()
        harness.runtime = None
        waiting = await client.reply(tasks["+33600000002"].id, "Your parcel left today")
        assert [e.key for e in store.outbox()] == [waiting.id]
    finally:
        if harness.runtime is not None:
            await harness.runtime.stop()


async def phone_and_chat(tmp_path: Path, catalog: PluginCatalog) -> Harness:
    """A calling channel with one caller waiting, beside a simulated chat."""
    catalog = PluginCatalog(dict(catalog.channels), {}, [])
    catalog.channels["caller"] = Caller
    harness = Harness(tmp_path, catalog)
    await harness.start(
        ("caller", "phone", {}),
        ("simulator", "sim-chat", {"kind": "chat", "rate": 0, "count": 1}),
    )
    await harness.wait_up("phone")
    await until(lambda: len(list(harness.desk.store.tasks())) == 2, "two tasks")
    return harness


async def test_call_back_asks_the_calling_channel_and_says_why_not(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    from agentdesk.api import Actor, DeskError, ErrorCode, Role
    from agentdesk.api import requests as rq

    harness = await phone_and_chat(tmp_path, catalog)
    runtime = harness.runtime
    assert runtime is not None
    try:
        store = harness.desk.store
        phone_task = next(t for t in store.tasks() if t.channel == "phone")
        chat_task = next(t for t in store.tasks() if t.channel == "sim-chat")
        said = await harness.desk.handle(
            Actor(agent="ana", role=Role.AGENT), rq.CallBack(task_id=phone_task.id)
        )
        assert said == "ringing ana's phone, then +33600000009"  # hostile bytes cleaned
        instance = runtime.supervisors["phone"].instance
        assert isinstance(instance, Caller)
        ((to, agent, key),) = instance.placed
        assert (to, agent) == ("+33600000009", "ana") and key
        # A chat customer with no phone number: the refusal says so.
        with pytest.raises(DeskError) as no_phone:
            await harness.desk.handle(Actor.embedded("ana"), rq.CallBack(task_id=chat_task.id))
        assert no_phone.value.code == ErrorCode.CHANNEL_UNAVAILABLE
        assert "no phone identity" in no_phone.value.message
        for who, says in (("nobody", "no phone is configured"), ("busy", "busy (429)")):
            with pytest.raises(DeskError) as refused:
                await harness.desk.handle(Actor.embedded(who), rq.CallBack(task_id=phone_task.id))
            assert refused.value.message.startswith("phone: ") and says in refused.value.message
        with pytest.raises(DeskError) as not_calling:
            asked = rq.CallBack(task_id=phone_task.id, channel="sim-chat")
            await harness.desk.handle(Actor.embedded("ana"), asked)
        assert "does not place calls" in not_calling.value.message
        assert len(instance.placed) == 1
        await runtime.stop()
        harness.runtime = None
        with pytest.raises(DeskError) as stopped:
            await harness.desk.handle(Actor.embedded("ana"), rq.CallBack(task_id=phone_task.id))
        assert "not running" in stopped.value.message
    finally:
        if harness.runtime is not None:
            await harness.runtime.stop()


async def test_a_handoff_onto_a_phone_line_is_a_call_back(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    from agentdesk.api import Actor, DeskError
    from agentdesk.api import requests as rq
    from agentdesk.domain import Handoff

    harness = await phone_and_chat(tmp_path, catalog)
    runtime = harness.runtime
    assert runtime is not None
    try:
        store = harness.desk.store
        chat = next(t for t in store.tasks() if t.channel == "sim-chat")
        to_phone = rq.Handoff(
            task_id=chat.id, to_channel="phone", to_identity="+33 6 11 22 33 44", message="hi"
        )
        with pytest.raises(DeskError, match="no phone is configured"):
            await harness.desk.handle(Actor.embedded("nobody"), to_phone)
        assert store.get_task(chat.id).channel == "sim-chat"  # a refused call moves nothing
        moved = await harness.desk.handle(Actor.embedded("ana"), to_phone)
        assert moved.channel == "phone" and moved.channel_kind == "phone"
        instance = runtime.supervisors["phone"].instance
        assert [p[:2] for p in instance.placed] == [("+33611223344", "ana")]
        [handoff] = [e for e in store.events_of_task(chat.id) if isinstance(e, Handoff)]
        assert handoff.context == "ringing ana's phone, then +33611223344"
        assert store.outbox() == []  # nothing to send on a line that takes no text
    finally:
        await runtime.stop()


class SlowStart(Channel):
    """Serves a webhook, but only once ``ready`` is set: a channel starting."""

    plugin = "slow-start"
    capabilities = Capabilities(kind="chat", identity_kind="chat")
    needs_http = True
    ready: asyncio.Event | None = None

    async def start(self) -> None:
        assert SlowStart.ready is not None
        await SlowStart.ready.wait()
        self.context.add_route("/hook", self.hook, methods=("POST",))

    async def hook(self, request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("taken")


async def test_a_webhook_to_a_channel_not_running_yet_is_asked_to_retry(
    tmp_path: Path, catalog: PluginCatalog
) -> None:
    import httpx

    SlowStart.ready = asyncio.Event()
    catalog = PluginCatalog(dict(catalog.channels), {}, [])
    catalog.channels["slow-start"] = SlowStart
    harness = Harness(tmp_path, catalog)
    runtime = await harness.start(("slow-start", "hooks", {}), ("no-such-plugin", "broken", {}))
    try:
        await until(lambda: runtime.http.running, "the HTTP server")
        async with httpx.AsyncClient(base_url=runtime.http.base_url) as client:
            for path in ("/channels/hooks/hook", "/channels/broken/anything"):
                early = await client.post(path, content=b"From=%2B336&Body=hi")
                assert early.status_code == 503, path
                assert early.headers["retry-after"] == "5"
            assert (await client.post("/channels/nobody/hook")).status_code == 404
            SlowStart.ready.set()
            await harness.wait_up("hooks")
            taken = await client.post("/channels/hooks/hook", content=b"From=%2B336&Body=hi")
            assert (taken.status_code, taken.text) == (200, "taken")
            # A running channel's path that does not exist is not found, as before.
            assert (await client.post("/channels/hooks/other")).status_code == 404
    finally:
        await runtime.stop()
