"""The live board: the same fold as reports, fed batch by batch as they commit.

Built once from the store's history (``from_store``, on the store's thread),
then ``apply`` takes each committed batch's events and activity. ``board``
reads today's figures out: the measures completed since local midnight go
through ``summary`` exactly as a report's do.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from agentdesk.api.agents import AgentInfo
from agentdesk.api.board import AgentLoad, Board, ChannelFlow
from agentdesk.api.messages import SlaDue
from agentdesk.domain import Activity, ActivityKind, Event, Status, Task
from agentdesk.routing.model import DEFAULT_CAPACITY
from agentdesk.store import Store

from .agent_time import agent_time
from .calendar import BusinessCalendar
from .history import PRESENCE_LOOKBACK, Collected
from .measures import EngagedSpan, Measure, Metric
from .sla import SlaPolicy, due_of
from .summary import GroupBy, summarize
from .task_fold import TaskFold

QUEUE_MINUTES = 60
#: Days of measures, spans and activity the hub holds before today, so a
#: report of the last month is summed from memory instead of a full pass.
HELD_DAYS = 31


class LiveMetrics:
    def __init__(
        self, calendar: BusinessCalendar, seq: int = 0, held_days: float = HELD_DAYS
    ) -> None:
        self.calendar = calendar
        self.held = held_days * 86400.0
        self.zone = ZoneInfo(calendar.timezone)
        #: The last batch folded in: a batch at or below it is already here.
        self.seq = seq
        self.folds: dict[str, TaskFold] = {}
        #: The tasks not closed: all the board needs to walk (history grows).
        self.active: set[str] = set()
        self.measures: list[Measure] = []
        self.spans: list[EngagedSpan] = []
        self.activity: dict[str, list[Activity]] = defaultdict(list)
        # What no longer counts for today but a report of the held days reads
        # (kept apart so the board walks today's alone).
        self.earlier = Collected()
        #: What is held reaches back to here (0: everything since the first batch).
        self.held_from = 0.0
        self._pruned_for = 0.0
        #: The priority of each open or pending task (tasks carry it, events may not).
        self.priorities: dict[str, str] = {}
        #: Every task's priority: a report holds a task to its priority's target.
        self.every_priority: dict[str, str] = {}

    @classmethod
    def from_store(cls, store: Store, calendar: BusinessCalendar, now: float) -> LiveMetrics:
        """Fold the whole history (call it where the store may be read)."""
        live = cls(calendar, store.seq)
        live.fold(store.iter_events())
        for task in store.tasks():
            live.every_priority[task.id] = str(task.priority)
            if task.status != Status.CLOSED:
                live.priorities[task.id] = str(task.priority)
        today = live.day_start(now)
        for record in store.iter_activity(today - live.held):
            live.activity[record.agent].append(record)
        live.held_from = today - live.held
        live._prune(today)
        return live

    def catch_up(self, store: Store, since: float) -> None:
        """Take what ``store`` committed after the history was read (its change
        feed from ``self.seq``), and the activity recorded from ``since`` on."""
        while changes := store.changes_since(self.seq):
            for change in changes:
                self.apply(change.seq, list(change.events), [], list(change.tasks))
        for record in store.iter_activity(since):
            held = self.activity[record.agent]
            if record not in held[-64:]:  # read already, if it came before the history
                held.append(record)
        for records in self.activity.values():
            records.sort(key=lambda a: a.at)

    def fold(self, events: Iterable[Event]) -> None:
        for event in events:
            task = self.folds.get(event.task_id)
            if task is None:
                task = self.folds[event.task_id] = TaskFold(
                    event.task_id,
                    calendar=self.calendar,
                    emit=self.measures.append,
                    span=self.spans.append,
                )
            task.add(event)
            if task.status == "closed":
                self.active.discard(event.task_id)
            else:
                self.active.add(event.task_id)

    def apply(
        self, seq: int, events: list[Event], activity: list[Activity], tasks: list[Task]
    ) -> set[str]:
        """A committed batch, in commit order; the ids of the tasks it touched."""
        if seq <= self.seq:
            return set()
        self.seq = seq
        self.fold(sorted(events, key=lambda e: (e.at, e.id)))
        for record in activity:
            self.activity[record.agent].append(record)
        for task in tasks:
            self.every_priority[task.id] = str(task.priority)
            if task.status == Status.CLOSED:
                self.priorities.pop(task.id, None)
            else:
                self.priorities[task.id] = str(task.priority)
        return {event.task_id for event in events} | {task.id for task in tasks}

    def sla(self, task_id: str, policy: SlaPolicy, now: float) -> SlaDue | None:
        """When the task's nearest target turns amber and red, if one runs."""
        fold = self.folds.get(task_id)
        priority = self.priorities.get(task_id)
        if fold is None or priority is None or not policy.targets:
            return None
        return due_of(fold, priority, policy, self.calendar, now)

    def sla_all(self, policy: SlaPolicy, now: float) -> dict[str, SlaDue]:
        """Every open task's running target."""
        found = {task_id: self.sla(task_id, policy, now) for task_id in self.priorities}
        return {task_id: due for task_id, due in found.items() if due is not None}

    def day_start(self, now: float) -> float:
        """Local midnight of ``now``'s day, in the desk's time zone."""
        local = datetime.datetime.fromtimestamp(now, self.zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def tidy(self, now: float) -> None:
        """Drop, once a day, what no longer counts for today."""
        self._prune(self.day_start(now))

    def _prune(self, since: float) -> None:
        """Once a day: what no longer counts for the day that began at ``since``
        moves to the held days; what is older than those goes."""
        if self._pruned_for == since:
            return
        self._pruned_for = since
        today, cut = since - PRESENCE_LOOKBACK, since - self.held
        self.held_from = max(self.held_from, cut)
        earlier = self.earlier
        earlier.measures = [m for m in earlier.measures if m.at >= cut]
        earlier.measures += [m for m in self.measures if cut <= m.at < today]
        # In place: every task's fold appends to these very lists.
        self.measures[:] = [m for m in self.measures if m.at >= today]
        earlier.spans = [s for s in earlier.spans if s.end >= cut]
        earlier.spans += [s for s in self.spans if cut <= s.end < today]
        self.spans[:] = [s for s in self.spans if s.end >= today]
        for agent in set(earlier.activity) | set(self.activity):
            records = self.activity.get(agent, [])
            held = [a for a in earlier.activity.get(agent, []) if a.at >= cut]
            earlier.activity[agent] = held + [a for a in records if cut <= a.at < today]
            self.activity[agent] = [a for a in records if a.at >= today]

    # -- reports -------------------------------------------------------------------

    def covers(self, since: float) -> bool:
        """Whether a report from ``since`` finds all it reads here (its measures,
        and the presence before it that says who was online when it began)."""
        return since - PRESENCE_LOOKBACK >= self.held_from

    def collected(self, until: float) -> Collected:
        """What a full pass would collect, from what is held: the lists are
        copies (the loop goes on folding while a report is summed elsewhere)."""
        running = [span for t in self.active if (span := self.folds[t].open_span(until))]
        activity: dict[str, list[Activity]] = defaultdict(list)
        for agent in set(self.earlier.activity) | set(self.activity):
            activity[agent] = self.earlier.activity.get(agent, []) + self.activity.get(agent, [])
        return Collected(
            measures=self.earlier.measures + self.measures,
            spans=self.earlier.spans + self.spans + running,
            activity=activity,
        )

    # -- the board ---------------------------------------------------------------

    def board(
        self, agents: list[AgentInfo], now: float, sla: dict[str, SlaDue] | None = None
    ) -> Board:
        """Today's board; ``sla``: the running targets (task id -> due) to count."""
        since = self.day_start(now)
        self._prune(since)
        rows = {
            row.key: row
            for row in summarize(
                self.measures, GroupBy.CHANNEL, since=since, until=now + 1, zone=self.zone
            )
        }
        waiting: dict[str, list[float]] = defaultdict(list)
        load: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        running: dict[str, list[EngagedSpan]] = defaultdict(list)
        for task in (self.folds[task_id] for task_id in self.active):
            if task.queue_start is not None:
                waiting[task.channel].append(task.queue_start)
            if task.status == "open" and task.assignee is not None:
                load[task.assignee][task.channel] += 1
            span = task.open_span(now)
            if span is not None:
                running[span.agent].append(span)
        ended: dict[str, list[EngagedSpan]] = defaultdict(list)
        for span in self.spans:
            ended[span.agent].append(span)
        people = [a for a in agents if not a.revoked]
        kinds = sorted(set(rows) | set(waiting) | {k for v in load.values() for k in v})
        queue = self._queue(now, waiting)
        online = [a for a in people if a.presence == "online"]
        breached: dict[str, int] = defaultdict(int)
        near: dict[str, int] = defaultdict(int)
        for task_id, due in (sla or {}).items():
            fold = self.folds.get(task_id)
            if fold is None:
                continue
            if due.due_at <= now:
                breached[fold.channel] += 1
            elif due.warn_at <= now:
                near[fold.channel] += 1
        channels = []
        for kind in kinds:
            row = rows.get(kind)
            first = row.time(Metric.FIRST_RESPONSE) if row else None
            available = [
                a
                for a in online
                if load[a.name].get(kind, 0) < _capacity(a, kind) and _room(a, load)
            ]
            started = waiting.get(kind, [])
            channels.append(
                ChannelFlow(
                    channel=kind,
                    waiting=len(started),
                    longest_wait=(now - min(started)) if started else None,
                    received=row.count(Metric.RECEIVED) if row else 0,
                    handled=row.count(Metric.HANDLED) if row else 0,
                    first_response_p50=first.p50 if first else None,
                    first_response_p90=first.p90 if first else None,
                    breached=breached[kind],
                    near_breach=near[kind],
                    online=len(online),
                    available=len(available),
                    queue=queue.get(kind, [0] * QUEUE_MINUTES),
                )
            )
        loads = []
        for agent in sorted(people, key=lambda a: a.name):
            time = agent_time(
                self.activity.get(agent.name, []),
                ended.get(agent.name, []) + running.get(agent.name, []),
                since=since,
                until=now,
            )
            held = dict(load.get(agent.name, {}))
            loads.append(
                AgentLoad(
                    name=agent.name,
                    presence=str(agent.presence),
                    load=held,
                    capacity={k: _capacity(agent, k) for k in sorted({*held, *agent.capacity})},
                    online=time.online,
                    focus=time.focus,
                    engaged=time.engaged,
                    focus_task=_focus_now(self.activity.get(agent.name, [])),
                )
            )
        return Board(at=now, since=since, channels=channels, agents=loads)

    def _queue(self, now: float, waiting: dict[str, list[float]]) -> dict[str, list[int]]:
        """Tasks waiting at each of the last minutes, per channel: from the
        queue stretches that ended (their measures) and those running."""
        minutes = [now - 60 * (QUEUE_MINUTES - 1 - i) for i in range(QUEUE_MINUTES)]
        stretches: dict[str, list[tuple[float, float]]] = defaultdict(list)
        horizon = minutes[0]
        for measure in self.measures:
            if measure.metric == Metric.WAITING and measure.at >= horizon:
                start = measure.at - (measure.seconds or 0.0)
                stretches[measure.channel].append((start, measure.at))
        for channel, starts in waiting.items():
            stretches[channel].extend((start, now + 1) for start in starts)
        return {
            channel: [sum(1 for lo, hi in spans if lo <= t < hi) for t in minutes]
            for channel, spans in stretches.items()
        }


def _capacity(agent: AgentInfo, kind: str) -> int:
    return agent.capacity.get(kind, DEFAULT_CAPACITY.get(kind, 1))


def _room(agent: AgentInfo, load: dict[str, dict[str, int]]) -> bool:
    return agent.total_limit is None or sum(load[agent.name].values()) < agent.total_limit


def _focus_now(records: list[Activity]) -> str | None:
    for record in reversed(records):
        if record.kind == ActivityKind.FOCUS:
            return record.value or None
        if record.kind == ActivityKind.PRESENCE and record.value == "offline":
            return None
    return None
