"""One task's events, in time order, folded into measures.

The fold is the single definition of every task metric (docs/reports.md):
the hub feeds it each batch as it commits, a report feeds it the whole
history, and both read the same ``Measure`` objects out. It keeps only what
the next event needs — a handful of timestamps — so it can live as long as
its task does. Only events feed it (a task's team is the one its last
transfer gave), so the live board and a report cannot see it differently.
"""

from __future__ import annotations

from collections.abc import Callable

from agentdesk.api.actor import SYSTEM
from agentdesk.domain import (
    Assignment,
    CallRecord,
    Direction,
    Event,
    Handoff,
    Message,
    StatusChange,
    SurveyAnswer,
    Transfer,
)

from .calendar import BusinessCalendar
from .measures import EngagedSpan, Measure, Metric

#: The survey answers that become measures.
SURVEYED = {"csat": Metric.CSAT, "ces": Metric.CES}

CUSTOMER = "customer"


def is_agent(actor: str) -> bool:
    """Whether ``actor`` is a person of the team (not the customer, not the desk)."""
    return actor not in (SYSTEM, CUSTOMER, "")


class TaskFold:
    """The running state of one task's metrics.

    ``emit`` receives each measure as it is completed and ``span`` each
    engaged stretch as it ends; ``open_span`` tells the stretch still running.
    """

    def __init__(
        self,
        task_id: str,
        *,
        channel: str = "",
        team: str | None = None,
        calendar: BusinessCalendar,
        emit: Callable[[Measure], None],
        span: Callable[[EngagedSpan], None],
    ) -> None:
        self.task_id = task_id
        self.channel = channel
        self.team = team
        self._calendar = calendar
        self._emit = emit
        self._span = span
        self.created_at: float | None = None
        self.status = "open"
        self.assignee: str | None = None
        self.closes = 0
        #: Start of the current first-response cycle, and whether the customer
        #: has spoken in it (an agent writing first is not a response).
        self._cycle_start: float | None = None
        self._cycle_heard = False
        self.unanswered_since: float | None = None
        self._pending_start: float | None = None
        self._pending: list[tuple[float, float]] = []
        self.queue_start: float | None = None
        self.engaged_start: float | None = None
        self._handled = 0.0
        self._outbound: set[str] = set()

    # -- the fold -------------------------------------------------------------

    def add(self, event: Event) -> None:
        if isinstance(event, Message) and event.direction == Direction.OUTBOUND:
            # An outbound message is written again as its delivery moves on:
            # the hub's feed shows it more than once, the fold counts it once.
            if event.id in self._outbound:
                return
            self._outbound.add(event.id)
        at = event.at
        if self.created_at is None:
            if isinstance(event, Message | CallRecord) and event.channel_kind:
                self.channel = event.channel_kind
            self.created_at = at
            self._cycle_start = at
            self._measure(Metric.RECEIVED, at)
            self._enter_queue_or_engage(at)
        if isinstance(event, Message):
            self._message(event)
        elif isinstance(event, CallRecord) and event.direction == Direction.INBOUND:
            # A call that came in (a missed one, a voicemail) waits for an answer.
            self._cycle_heard = True
            if self.unanswered_since is None:
                self.unanswered_since = at
        elif isinstance(event, StatusChange):
            self._status(event.new, at, event.actor)
        elif isinstance(event, Assignment):
            self._assign(event.new_assignee, at)
        elif isinstance(event, Transfer):
            if event.new_team is not None:
                self.team = event.new_team
            self._measure(Metric.TRANSFER, at, agent=event.new_assignee)
            self._assign(event.new_assignee, at)
        elif isinstance(event, Handoff):
            self._measure(Metric.HANDOFF, at, agent=self.assignee)
        elif isinstance(event, SurveyAnswer) and event.metric in SURVEYED:
            if event.id in self._outbound:
                return  # a comment added later writes the answer again
            self._outbound.add(event.id)
            metric = SURVEYED[event.metric]
            agent = event.agent or self.assignee
            self._emit(
                Measure(metric, at, self.task_id, self.channel, agent, self.team, score=event.score)
            )

    def _message(self, message: Message) -> None:
        at = message.at
        if message.channel_kind and message.channel_kind != self.channel:
            # Handed off: the agent's time counts for the channel it is on now.
            self._end_engaged(at)
            self.channel = message.channel_kind
            if self.status == "open" and self.assignee is not None:
                self.engaged_start = at
        if message.direction == Direction.INBOUND:
            self._cycle_heard = True
            if self.unanswered_since is None:
                self.unanswered_since = at
            return
        if not is_agent(message.actor):
            return  # automatic messages and surveys answer nobody
        agent = message.actor
        if self._cycle_start is not None and self._cycle_heard:
            self._timed(Metric.FIRST_RESPONSE, self._cycle_start, at, agent)
        self._cycle_start = None
        if self.unanswered_since is not None:
            self._timed(Metric.REPLY, self.unanswered_since, at, agent)
            self.unanswered_since = None

    def _status(self, new: str, at: float, actor: str) -> None:
        old, self.status = self.status, new
        if old == new:
            return
        if old == "pending" and self._pending_start is not None:
            self._pending.append((self._pending_start, at))
            self._pending_start = None
        self._leave(at)
        if new == "pending":
            self._pending_start = at
        elif new == "closed":
            self._close(at, actor)
        elif new == "open":
            if old == "closed":
                self._measure(Metric.REOPEN, at, agent=self.assignee)
                self._cycle_start, self._cycle_heard = at, self.unanswered_since is not None
            self._enter_queue_or_engage(at)

    def _close(self, at: float, actor: str) -> None:
        assert self.created_at is not None
        self.closes += 1
        credited = actor if is_agent(actor) else self.assignee
        if is_agent(actor):
            self._measure(Metric.HANDLED, at, agent=actor)
        if self.closes == 1:
            self._timed(Metric.FIRST_RESOLUTION, self.created_at, at, credited)
        self._timed(Metric.FULL_RESOLUTION, self.created_at, at, credited)
        self._emit(
            Measure(
                Metric.HANDLE,
                at,
                self.task_id,
                self.channel,
                credited,
                self.team,
                seconds=self._handled,
            )
        )
        # What the customer said is answered by the close, as far as the
        # reply clock goes; a reopen starts new cycles.
        self.unanswered_since = None
        self._cycle_start = None

    def _assign(self, agent: str | None, at: float) -> None:
        if agent == self.assignee:
            return
        self._leave(at)
        self.assignee = agent
        self._enter_queue_or_engage(at)

    # -- queue and engaged stretches -------------------------------------------

    def _enter_queue_or_engage(self, at: float) -> None:
        if self.status != "open":
            return
        if self.assignee is None:
            self.queue_start = at
        else:
            self.engaged_start = at

    def _leave(self, at: float) -> None:
        """End the queue or engaged stretch running, if any."""
        if self.queue_start is not None:
            self._timed(Metric.WAITING, self.queue_start, at, None)
            self.queue_start = None
        self._end_engaged(at)

    def _end_engaged(self, at: float) -> None:
        if self.engaged_start is not None and self.assignee is not None:
            self._handled += at - self.engaged_start
            self._span(
                EngagedSpan(self.assignee, self.task_id, self.channel, self.engaged_start, at)
            )
        self.engaged_start = None

    def open_span(self, now: float) -> EngagedSpan | None:
        """The engaged stretch running until ``now``, if the task is being worked."""
        if self.engaged_start is None or self.assignee is None:
            return None
        return EngagedSpan(self.assignee, self.task_id, self.channel, self.engaged_start, now)

    def running_clocks(self) -> list[tuple[Metric, float]]:
        """The service-level clocks running now, each with when it started:
        none while the task is pending or closed."""
        if self.status != "open" or self.created_at is None:
            return []
        clocks = [(Metric.FULL_RESOLUTION, self.created_at)]
        if self._cycle_start is not None and self._cycle_heard:
            clocks.append((Metric.FIRST_RESPONSE, self._cycle_start))
        elif self.unanswered_since is not None:
            clocks.append((Metric.REPLY, self.unanswered_since))
        return clocks

    # -- measures ---------------------------------------------------------------

    def _measure(self, metric: Metric, at: float, agent: str | None = None) -> None:
        self._emit(Measure(metric, at, self.task_id, self.channel, agent, self.team))

    def _timed(self, metric: Metric, start: float, end: float, agent: str | None) -> None:
        self._emit(
            Measure(
                metric,
                end,
                self.task_id,
                self.channel,
                agent,
                self.team,
                seconds=max(0.0, end - start),
                business=self.business_seconds(start, end),
            )
        )

    def business_seconds(self, start: float, end: float) -> float:
        """Business seconds from ``start`` to ``end`` with pending periods cut out."""
        total = self._calendar.seconds(start, end)
        if not self._pending and self._pending_start is None:
            return total
        pending = list(self._pending)
        if self._pending_start is not None:
            pending.append((self._pending_start, end))
        for p_start, p_end in pending:
            lo, hi = max(start, p_start), min(end, p_end)
            if hi > lo:
                total -= self._calendar.seconds(lo, hi)
        return max(0.0, total)
