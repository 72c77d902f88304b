"""The hub's figures in Prometheus's text format, by ``prometheus_client``.

Counters and the latency histogram are kept as things happen; what the desk
already knows (outbox depth, channel health, the store's seq, inbound queues)
is read when Prometheus scrapes, so nothing is kept twice. Each hub has its
own registry: two hubs in one process (tests) do not share figures.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agentdesk.plugin import HealthState

if TYPE_CHECKING:
    from agentdesk.core.desk import Desk

    from .session import Session

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Command latency buckets, in seconds: the budget is tens of milliseconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class HubMetrics:
    def __init__(
        self,
        desk: Desk,
        sessions: Callable[[], list[Session]],
        inbound: Callable[[], dict[str, int]],
    ) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "agentdesk_updates", "Updates published by the desk", registry=self.registry
        )
        self.requests = Histogram(
            "agentdesk_request_seconds",
            "Time to answer a console's request, by operation",
            ["op", "outcome"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.hellos = Counter(
            "agentdesk_hellos", "Consoles' hellos, by outcome", ["outcome"], registry=self.registry
        )
        self.registry.register(_DeskState(desk, sessions, inbound))

    def observe(self, op: str, seconds: float, ok: bool) -> None:
        self.requests.labels(op, "ok" if ok else "refused").observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _DeskState(Collector):
    """Figures read from the desk at each scrape."""

    def __init__(
        self,
        desk: Desk,
        sessions: Callable[[], list[Session]],
        inbound: Callable[[], dict[str, int]],
    ) -> None:
        self.desk = desk
        self.sessions = sessions
        self.inbound = inbound

    def collect(self) -> Iterator[GaugeMetricFamily]:
        consoles = GaugeMetricFamily(
            "agentdesk_consoles", "Consoles connected, by role", labels=["role"]
        )
        by_role = Tally(str(s.agent.role) for s in self.sessions())
        for role in ("agent", "lead", "admin"):
            consoles.add_metric([role], by_role.get(role, 0))
        yield consoles

        outbox = GaugeMetricFamily(
            "agentdesk_outbox_depth", "Replies waiting to be sent, by channel", labels=["channel"]
        )
        depth = Tally(entry.channel for entry in self.desk.outbox_due(float("inf")))
        channels = self.desk.channels()
        for status in channels:
            outbox.add_metric([status.name], depth.get(status.name, 0))
        yield outbox

        queued = GaugeMetricFamily(
            "agentdesk_inbound_queue",
            "Inbound items received but not yet stored, by channel",
            labels=["channel"],
        )
        for name, size in sorted(self.inbound().items()):
            queued.add_metric([name], size)
        yield queued

        health = GaugeMetricFamily(
            "agentdesk_channel_state",
            "1 for the state each channel is in",
            labels=["channel", "state"],
        )
        for status in channels:
            for state in HealthState:
                health.add_metric([status.name, state.value], 1 if status.state == state else 0)
        yield health

        yield GaugeMetricFamily(
            "agentdesk_store_seq",
            "Sequence number of the last committed batch",
            value=self.desk.store.seq,
        )
