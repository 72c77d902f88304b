"""The desk: the one owner of state changes, and the pipeline every change takes.

A request comes in with its ``Actor``. A read runs on the store's thread and
answers. A command takes the pipeline: **authorize** (may this actor do it,
on this task as it is now) → **plan** (a pure planner turns the request and a
``PlanContext`` into a batch, notices and an answer) → **route** (the router
may add assignments) → **commit** (one transaction, seq assigned by the store)
→ **publish** (one ``Update`` on the bus, filtered per subscriber). The first
four steps run on the store's thread in one go, so neither a disk sync nor a
slow query holds the event loop; a plan overtaken by another change to its
task is planned again. Ingest and the outbox's outcomes are planned and
committed the same way, as the desk itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

from agentdesk.api import (
    Actor,
    ChannelStatus,
    DeskError,
    ErrorCode,
    Role,
    SlaDue,
    Snapshot,
    Update,
)
from agentdesk.api import requests as rq
from agentdesk.api.actor import SYSTEM
from agentdesk.api.agents import AgentInfo, Presence
from agentdesk.api.report import ReportData
from agentdesk.core.survey_config import SurveyConfig
from agentdesk.domain import IdFactory, OutboxEntry, Status, Task, Whisper
from agentdesk.domain.codec import decode_value, encode_value
from agentdesk.domain.events import AnyEvent
from agentdesk.domain.evolve import evolve
from agentdesk.domain.identity_kinds import IdentityKinds, IdentityRules
from agentdesk.domain.text import clean_text
from agentdesk.metrics import ALWAYS, BusinessCalendar, GroupBy
from agentdesk.metrics.live import LiveMetrics
from agentdesk.metrics.report import build_report, report_of
from agentdesk.metrics.sla import SlaPolicy
from agentdesk.plugin import Capabilities, Delivery, HandoffContext, Outbound
from agentdesk.store import Batch, Store, StoreConflict

from ..routing_config import RoutingConfig
from . import actions, agents, applied, outbox_book, surveys
from .activity_log import ActivityLog
from .authorize import authorize
from .call_back import call_target
from .context import Plan, PlanContext
from .crm import (
    CRM_NAMESPACE,
    CrmGateway,
    LookupAnswer,
    field_names,
    is_fresh,
    plan_answers,
    profile_of,
    record_of,
)
from .inflow import Inflow
from .ingest import InboundRejected, Ingestor, IngestRules
from .reads import READERS
from .routing import NoRouting, Router
from .routing_pass import RoutingPass
from .store_thread import StoreThread
from .stream import Notice, Published, UpdateBus

log = logging.getLogger("agentdesk.desk")
#: Seconds a routing pass waits after the change that asked for it.
ROUTING_DELAY = 0.05

HandoffGateway = Callable[[str, HandoffContext], Awaitable[Outbound | None]]
# (channel, to, typing): relays an agent's typing to a running channel.
TypingGateway = Callable[[str, str, bool], Awaitable[None]]
#: (channel, to, external ids): tells a customer an agent read their messages.
ReadGateway = Callable[[str, str, tuple[str, ...]], Awaitable[None]]
#: (channel, to, agent, key) -> a line for the agent, once the call is placed.
CallGateway = Callable[[str, str, str, str], Awaitable[str]]
#: (channel, to, text) -> why the channel refuses the reply, or None; called
#: on the store's thread while a reply is planned.
RefusalGateway = Callable[[str, str, str], str | None]
T = TypeVar("T")

AGENT_PLANNERS: dict[type[rq.Request], Callable[[PlanContext, Any], Plan]] = {
    rq.AddAgent: agents.plan_add_agent,
    rq.RevokeAgent: agents.plan_revoke,
    rq.RotateToken: agents.plan_rotate,
}
# A change planned on a task that changed meanwhile is planned again, this often.
CONFLICT_RETRIES = 3
#: The desk itself, for what no agent asked (wake-ups, delivery outcomes).
DESK_ACTOR = Actor(agent=SYSTEM, role=Role.ADMIN)


class Desk:
    """Requests, ingest, outbox bookkeeping and the update stream of one desk.

    Build it off the event loop (``asyncio.to_thread(Desk, store)``) for a
    large store: it reads the outbox and the plugin state, which it keeps in
    memory for the dispatcher and the plugins' synchronous ``state.get``.
    """

    def __init__(
        self,
        store: Store,
        *,
        rules: IngestRules | None = None,
        clock: Callable[[], float] = time.time,
        ids: IdFactory | None = None,
        router: Router | None = None,
        bus: UpdateBus | None = None,
        routing: RoutingPass | None = None,
        calendar: BusinessCalendar = ALWAYS,
        sla: SlaPolicy | None = None,
        surveys: SurveyConfig | None = None,
    ) -> None:
        """``routing``: the desk assigns waiting tasks itself (push), by its rules;
        ``calendar``: the business hours its figures are counted in;
        ``sla``: the service-level targets its tasks are held to."""
        self.store = store
        #: What customers are asked once a task is closed ([surveys]).
        self.surveys = surveys or (rules.surveys if rules else SurveyConfig())
        rules = dataclasses.replace(rules or IngestRules(), surveys=self.surveys)
        #: The public URL survey links point to (the desk's HTTP server), once known.
        self.survey_links: str | None = None
        self.thread = StoreThread()
        self.clock = clock
        self.ids = ids or IdFactory(clock)
        self.router: Router = router or NoRouting()
        self.bus = bus or UpdateBus()
        self.routing = routing
        self._routing_soon: asyncio.TimerHandle | None = None
        self._routing_runs: set[asyncio.Task[Any]] = set()
        # What the store holds already is not on the bus to resume from.
        self.bus.forget_until(store.seq)
        self.outbox_wakeup = asyncio.Event()
        self.inflow = Inflow(
            store,
            self.thread,
            Ingestor(store, self.ids, rules, kinds=lambda: self.kinds),
            clock=clock,
            capabilities=self.capabilities,
            published=self.published,
            publish=self.bus.publish,
            context=lambda: self._context(DESK_ACTOR),
        )
        self._outbox = {entry.key: entry for entry in store.outbox()}
        items = list(store.state_items())
        self._state = {
            (ns, key): encode_value(value)
            for ns, key, value in items
            if ns != CRM_NAMESPACE  # read from the store when needed: one per customer
        }
        self.agents = agents.AgentBook.from_state(items)
        # Who is connected now, as the hub says (not stored), and since when
        # those who went are gone.
        self._presence: dict[str, Presence] = {}
        self._gone_since: dict[str, float] = {}
        # Replaced whole on every change, so the store's thread may read them.
        self._channels: dict[str, ChannelStatus] = {}
        self.kinds = IdentityKinds()
        self._handoff_gateway: HandoffGateway | None = None
        self._typing_gateway: TypingGateway | None = None
        self._refusal_gateway: RefusalGateway | None = None
        self._call_gateway: CallGateway | None = None
        self._read_gateway: ReadGateway | None = None
        self._receipts: set[asyncio.Task[None]] = set()
        self._crm: CrmGateway | None = None
        #: The names of the fields the CRM gave: search filters on them (plan:pro).
        self.crm_fields = field_names(v for ns, _, v in items if ns == CRM_NAMESPACE)
        self.activity = ActivityLog(self._write_own, clock)
        self.calendar = calendar
        #: Today's figures, folded from the history at the first board asked
        #: for, then batch by batch as they commit.
        self.live: LiveMetrics | None = None
        self._live_lock = asyncio.Lock()
        self.sla_policy = sla or SlaPolicy()
        #: Each open task's running service-level target, as last published.
        self.sla: dict[str, SlaDue] = {}
        #: Why each waiting task waits, in a word, as routing last said.
        self.waiting: dict[str, str] = {}

    # --- requests: the one entry of reads and commands ----------------------

    async def handle(
        self, actor: Actor, request: rq.Request, *, command_id: str | None = None
    ) -> Any:
        """Answer ``request`` made by ``actor``; ``DeskError`` (with its code) if refused.

        A command with a ``command_id`` seen before is not applied again: the
        answer is what it made, as it is now (see ``applied``)."""
        if command_id is not None and request.command:
            if len(command_id) > applied.MAX_ID_LENGTH:
                raise DeskError(f"a command id is at most {applied.MAX_ID_LENGTH} characters")
            entry = self.state_get(applied.COMMANDS_NAMESPACE, command_id)
            if entry is not None:
                ctx = self._context(actor)
                return await self.read(
                    lambda: applied.answer_again(ctx, entry, actor.agent, _op(request))
                )
        else:
            command_id = None
        if isinstance(request, rq.ListAgents):
            authorize(actor, request, None)
            return self.agent_list()
        if isinstance(request, rq.ExplainRouting):
            authorize(actor, request, None)
            return await self._explain_routing(request.task_id)
        if isinstance(request, rq.SetPresence):
            authorize(actor, request, None)
            if request.presence == Presence.OFFLINE:
                raise DeskError(
                    "offline is said by the hub when your last console leaves; "
                    "choose online or away"
                )
            return self.set_presence(actor.agent, request.presence)
        if isinstance(request, rq.Search):
            return await self._search(actor, request)
        if isinstance(request, rq.Handoff):
            return await self._handoff(actor, request, command_id)
        if isinstance(request, rq.Typing):
            return await self._typing(actor, request)
        if isinstance(request, rq.Focus):
            return await self._focus(actor, request)
        if isinstance(request, rq.GetCrmProfile):
            authorize(actor, request, None)
            return await self._crm_profile(request.customer_id)
        if isinstance(request, rq.CallBack):
            return await self._call_back(actor, request)
        if isinstance(request, rq.GetReport):
            authorize(actor, request, None)
            return await self._report(request)
        if isinstance(request, rq.GetBoard):
            authorize(actor, request, None)
            live = await self.live_metrics()
            return live.board(self._everyone(), self.clock(), self.sla)
        if isinstance(request, rq.TakeNext):
            routing = self.routing or RoutingPass(RoutingConfig())
            presence, book = dict(self._presence), self.agents
            return await self.execute(
                actor,
                lambda ctx: routing.take_next(ctx, presence, book),
                request=request,
                command_id=command_id,
            )
        if isinstance(request, rq.MarkRead):
            return await self._mark_read(actor, request, command_id)
        if isinstance(request, rq.SetStatus) and self.surveys.enabled and actor is not DESK_ACTOR:
            return await self.execute(
                actor, self._close_and_survey, request, request=request, command_id=command_id
            )
        planner = actions.PLANNERS.get(type(request)) or AGENT_PLANNERS.get(type(request))  # type: ignore[arg-type]
        if planner is not None:
            return await self.execute(
                actor, planner, request, request=request, command_id=command_id
            )
        reader = READERS.get(type(request))
        if reader is None:
            raise DeskError(f"unknown request {type(request).__name__}")
        authorize(actor, request, None)
        answer = await self.read(lambda: reader(self._context(actor), request), urgent=True)
        if isinstance(answer, Snapshot):
            answer.sla = self.sla_of(answer.tasks)
            answer.viewers = self.viewers_of(answer.tasks)
            answer.waiting = self.waiting_of(answer.tasks)
        return answer

    async def read(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """``fn(*args)`` on the store's thread: a read, consistent in itself.
        ``urgent``: an agent waits for it (ahead of the desk's background work)."""
        return await self.thread.run(fn, *args, urgent=urgent)

    async def execute(
        self,
        actor: Actor,
        planner: Callable[..., Plan],
        *args: Any,
        request: rq.Request | None = None,
        command_id: str | None = None,
    ) -> Any:
        """The pipeline: authorize ``request`` (when an agent made one), plan
        with ``planner(ctx, *args)``, route, commit, publish; the plan's result.
        With a ``command_id``, the id is committed with the changes.
        """
        for attempt in range(CONFLICT_RETRIES):
            try:
                seq, plan = await self.thread.run(
                    self._through,
                    actor,
                    request,
                    planner,
                    args,
                    command_id,
                    urgent=actor is not DESK_ACTOR,
                )
            except StoreConflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise DeskError(
                        "the task kept changing while this was being saved; try again",
                        ErrorCode.CONFLICT,
                    ) from None
                continue
            self.published(seq, plan.batch, plan.notices)
            return plan.result
        raise AssertionError("unreachable")

    def _through(
        self,
        actor: Actor,
        request: rq.Request | None,
        planner: Callable[..., Plan],
        args: tuple[Any, ...],
        command_id: str | None = None,
    ) -> tuple[int, Plan]:
        """Authorize, plan, route and commit, on the store's thread."""
        ctx = self._context(actor)
        if command_id is not None:
            entry = self.store.get_state(applied.COMMANDS_NAMESPACE, command_id)
            if entry is not None:  # the same command, sent twice at once
                again = applied.answer_again(ctx, entry, actor.agent, _op(request))
                return self.store.seq, Plan(Batch(), [], again)
        if request is not None:
            task_id = getattr(request, "task_id", None)
            authorize(actor, request, self.store.get_task(task_id) if task_id else None)
        plan = self.router.route(ctx, planner(ctx, *args))
        if command_id is not None:
            entry = applied.record(command_id, actor.agent, _op(request), ctx.now, plan.result)
            plan.batch.state.append(entry)
        seq = self.store.commit(plan.batch) if plan.batch else self.store.seq
        return seq, plan

    def _context(self, actor: Actor) -> PlanContext:
        return PlanContext(
            self.store,
            self.clock(),
            self.ids,
            self._channels,
            actor,
            self.kinds,
            self._refusal_gateway,
        )

    def published(self, seq: int, batch: Batch, notices: list[Notice] | None) -> None:
        """After a commit: the outbox and state kept here follow, then the updates go out."""
        for entry in batch.outbox_put:
            self._outbox[entry.key] = entry
        for key in batch.outbox_done:
            self._outbox.pop(key, None)
        changed_agents: list[AgentInfo] = []
        for namespace, key, value in batch.state:
            if namespace == CRM_NAMESPACE:
                self.crm_fields |= field_names([value])
                continue
            if value is None:
                self._state.pop((namespace, key), None)
            else:
                self._state[(namespace, key)] = encode_value(value)
            if namespace == agents.AGENTS_NAMESPACE:
                self.agents = self.agents.changed(key, value)
                changed_agents.append(self._with_presence(agents.info_of(value)))
        if changed_agents:
            self.bus.publish(Update(seq=seq, agents=changed_agents))
        if batch.tasks or changed_agents:
            self.route_soon()
        notices = notices or []
        public = [n.text for n in notices if n.agent is None]
        sla = self._fold_in(seq, batch)
        # Whispers go to their agent and the leads alone, in updates of their own.
        whispers = [e for e in batch.events if isinstance(e, Whisper)]
        events = [e for e in batch.events if e not in whispers] if whispers else batch.events
        if batch.tasks or events or batch.customers or public or sla:
            self.bus.publish(
                Update(
                    seq=seq,
                    tasks=list(batch.tasks),
                    events=cast("list[AnyEvent]", list(events)),
                    customers=list(batch.customers),
                    notices=public,
                    sla=sla,
                )
            )
        for whisper in whispers:
            self.bus.publish(Update(seq=seq, events=[whisper], to=whisper.to, leads=True))
        for notice in notices:
            if notice.agent is not None:
                self.bus.publish(Update(seq=seq, notices=[notice.text], to=notice.agent))
        if batch.outbox_put:
            self.outbox_wakeup.set()

    def _fold_in(self, seq: int, batch: Batch) -> dict[str, SlaDue | None]:
        """The live figures take the batch; the service-level clocks it moved."""
        live = self.live
        if live is None or not (batch.events or batch.activity or batch.tasks):
            return {}
        touched = live.apply(seq, list(batch.events), list(batch.activity), list(batch.tasks))
        now = self.clock()
        live.tidy(now)  # a hub runs for days: yesterday's measures go at midnight
        if not self.sla_policy.targets:
            return {}
        moved: dict[str, SlaDue | None] = {}
        for task_id in touched:
            due = live.sla(task_id, self.sla_policy, now)
            if due != self.sla.get(task_id):
                moved[task_id] = due
                if due is None:
                    self.sla.pop(task_id, None)
                else:
                    self.sla[task_id] = due
        return moved

    # --- the commands that are more than one plan ----------------------------

    async def _search(self, actor: Actor, request: rq.Search) -> Any:
        from agentdesk.query import QuerySyntaxError, parse_query

        try:
            parsed = parse_query(request.query, customer_fields=self.crm_fields)
        except QuerySyntaxError as exc:
            raise DeskError(exc.message) from None
        authorize(actor, request, None)
        limit, offset = request.limit, request.offset
        return await self.read(
            lambda: self.store.search(
                parsed, me=actor.agent, now=self.clock(), limit=limit, offset=offset
            ),
            urgent=True,
        )

    async def _handoff(self, actor: Actor, request: rq.Handoff, command_id: str | None) -> Any:
        def check() -> tuple[Any, HandoffContext]:
            authorize(actor, request, self.store.get_task(request.task_id))
            return actions.handoff_context(self._context(actor), request)

        identity, handoff = await self.read(check, urgent=True)
        context = handoff.context
        gateway = self._handoff_gateway
        target = self._channels.get(request.to_channel)
        if target is not None and target.capabilities.calls and not target.capabilities.outbound:
            # Onto a phone line: the handoff is the call back, placed first
            # (a refused call moves nothing); its key makes a replay ring once.
            context = await self._place_call(
                request.to_channel, handoff.to, actor.agent, command_id or self.ids.new()
            )
        elif gateway is not None and request.template is None:
            outbound = await gateway(request.to_channel, handoff)
            if outbound is not None and context:
                context = clean_text(outbound.text, actions.MAX_REPLY).strip() or context
        # The gateway awaited: the task is read, authorized and planned again as it is now.
        return await self.execute(
            actor,
            actions.plan_handoff,
            request,
            identity,
            context,
            request=request,
            command_id=command_id,
        )

    async def _typing(self, actor: Actor, request: rq.Typing) -> None:
        """Show the customer that an agent is writing a reply (or stopped), on
        a running channel that can show it; otherwise nothing happens."""
        gateway = self._typing_gateway
        if gateway is None:
            return

        def target() -> tuple[str, str] | None:
            authorize(actor, request, self.store.get_task(request.task_id))
            return actions.typing_target(self._context(actor), request.task_id)

        found = await self.read(target, urgent=True)
        if found is not None:
            await gateway(found[0], found[1], request.typing)

    async def _mark_read(self, actor: Actor, request: rq.MarkRead, command_id: str | None) -> Any:
        """Mark the task read; on a channel with read receipts, tell the
        customer too, in the background (best effort, never holding the agent)."""
        gateway = self._read_gateway
        target = None
        if gateway is not None:
            ctx = self._context(actor)
            target = await self.read(actions.read_receipt_target, ctx, request.task_id, urgent=True)
        result = await self.execute(
            actor, actions.plan_mark_read, request, request=request, command_id=command_id
        )
        if gateway is not None and target is not None:
            receipt = asyncio.ensure_future(gateway(*target))
            self._receipts.add(receipt)  # held until done: a bare task may be collected
            receipt.add_done_callback(self._receipts.discard)
        return result

    async def _call_back(self, actor: Actor, request: rq.CallBack) -> str:
        target = await self.read(lambda: call_target(self._context(actor), request), urgent=True)
        return await self._place_call(target.channel, target.to, actor.agent, self.ids.new())

    async def _place_call(self, channel: str, to: str, agent: str, key: str) -> str:
        gateway = self._call_gateway
        if gateway is None:
            raise DeskError(
                f"{channel} is not running here: calls are placed where channels run",
                ErrorCode.CHANNEL_UNAVAILABLE,
            )
        return await gateway(channel, to, agent, key)

    async def _focus(self, actor: Actor, request: rq.Focus) -> None:
        authorize(actor, request, None)  # seeing a task is enough: reads are open to all
        channel = ""
        if request.task_id is not None:
            task = await self.read(self.store.get_task, request.task_id, urgent=True)
            if task is None:
                raise DeskError(f"no task {request.task_id}", ErrorCode.NOT_FOUND)
            channel = task.channel_kind
            if self._crm is not None:  # the pane asks for the CRM's fields next
                self._crm.look_up_soon(task.customer_id)
        before = self.activity.focus_of.get(actor.agent)
        if self.activity.focus(actor.agent, request.task_id, channel):
            self._viewers_changed(before, request.task_id)

    def _viewers_changed(self, *task_ids: str | None) -> None:
        """Tell every console who now views these tasks."""
        viewers = {tid: self.activity.viewers(tid) for tid in dict.fromkeys(task_ids) if tid}
        if viewers:
            self.bus.publish(Update(seq=self.store.seq, viewers=viewers))

    async def live_metrics(self) -> LiveMetrics:
        """The live figures, folded from the history the first time."""
        async with self._live_lock:
            if self.live is None:
                self.live = live = await self._fold_history()
                if self.sla_policy.targets:
                    self.sla = live.sla_all(self.sla_policy, self.clock())
                    self.bus.publish(Update(seq=self.store.seq, sla=dict(self.sla)))
            return self.live

    async def _report(self, request: rq.GetReport) -> ReportData:
        try:
            by = GroupBy(request.by)
        except ValueError:
            raise DeskError(
                f"a report is by channel, agent, team or day, not {request.by!r}"
            ) from None
        if request.until <= request.since:
            raise DeskError("a report's period must end after it begins")

        live = self.live
        if live is not None and live.covers(request.since):
            # The hub holds the last month folded: sum it in a thread, from
            # copies taken here, while the loop goes on folding.
            held = live.collected(request.until)
            priorities = dict(live.every_priority) if self.sla_policy.targets else {}
            return await asyncio.to_thread(
                report_of,
                held,
                self.calendar,
                by,
                since=request.since,
                until=request.until,
                sla=self.sla_policy,
                priorities=priorities,
            )

        def build(store: Store) -> ReportData:
            return build_report(
                store,
                self.calendar,
                by,
                since=request.since,
                until=request.until,
                sla=self.sla_policy,
            )

        return await self._beside_the_writer(build)

    async def _beside_the_writer(self, read: Callable[[Store], T]) -> T:
        """``read(store)`` on a second connection in a thread of its own where
        the store has one (a long read would hold every commit behind it),
        else on the store's thread."""
        opener = getattr(self.store, "reader", None)
        if opener is None:
            return await self.read(read, self.store)

        def on_reader() -> T:
            reader = opener()
            try:
                return read(reader)
            finally:
                reader.close()

        return await asyncio.to_thread(on_reader)

    async def _fold_history(self) -> LiveMetrics:
        """The live figures from the whole history. On a second connection in a
        thread of its own where the store has one (seconds for a large store,
        which would otherwise hold every read and commit behind it), then what
        was committed meanwhile, on the store's thread."""
        started = self.clock()
        live = await self._beside_the_writer(
            lambda store: LiveMetrics.from_store(store, self.calendar, self.clock())
        )
        if live.seq < self.store.seq:  # read beside the writer: what came since
            await self.read(live.catch_up, self.store, started)
        return live

    async def _write_own(self, batch: Batch) -> None:
        """Commit and publish a change the desk makes of itself."""
        seq = await self.thread.run(self.store.commit, batch)
        self.published(seq, batch, None)

    # --- the stream -------------------------------------------------------------

    def subscribe(self, actor: Actor, since: int) -> AsyncIterator[Published]:
        """What ``actor`` may see of the updates after ``since``, then live."""
        agent, lead = actor.agent, actor.role.at_least(Role.LEAD)
        return self.bus.subscribe(
            since, lambda u: u.to is None or u.to == agent or (u.leads and lead)
        )

    def close(self) -> None:
        """End the update stream and the store's thread (the store stays open:
        whoever opened it closes it, through ``read`` before this)."""
        if self._routing_soon is not None:
            self._routing_soon.cancel()
        self.bus.close()
        self.thread.close()

    # --- agents and presence -----------------------------------------------------

    def agent_list(self) -> list[AgentInfo]:
        return [self._with_presence(info) for info in self.agents.all()]

    def _everyone(self) -> list[AgentInfo]:
        """The agents, and whoever else is present (the embedded desk's agent)."""
        listed = self.agent_list()
        known = {info.name for info in listed}
        others = [
            AgentInfo(name=name, presence=presence)
            for name, presence in self._presence.items()
            if name not in known and name != SYSTEM
        ]
        return listed + others

    def _with_presence(self, info: AgentInfo) -> AgentInfo:
        presence = self._presence.get(info.name, Presence.OFFLINE)
        return info if presence == info.presence else agents.with_presence(info, presence)

    def set_presence(self, agent: str, presence: Presence) -> AgentInfo:
        """Say an agent is online, away or offline; everyone's consoles hear it."""
        if self._presence.get(agent, Presence.OFFLINE) != presence:
            self._presence[agent] = presence
        watched = self.activity.focus_of.get(agent)
        self.activity.presence(agent, presence)
        if watched is not None and self.activity.focus_of.get(agent) is None:
            self._viewers_changed(watched)  # gone: that screen is no longer theirs
        if presence == Presence.ONLINE:
            self._gone_since.pop(agent, None)
        elif agent not in self._gone_since:
            self._gone_since[agent] = self.clock()
            if self.routing is not None:  # their live chats go back after the grace
                with contextlib.suppress(RuntimeError):
                    grace = self.routing.config.away_grace
                    asyncio.get_running_loop().call_later(grace + 0.5, self.route_soon)
        info = self.agents.get(agent) or AgentInfo(name=agent)
        info = self._with_presence(info)
        self.bus.publish(Update(seq=self.store.seq, agents=[info]))
        self.route_soon()  # someone came (the backlog is theirs) or went
        return info

    def sla_of(self, tasks: list[Task]) -> dict[str, SlaDue]:
        """The running service-level targets of ``tasks``."""
        return {task.id: self.sla[task.id] for task in tasks if task.id in self.sla}

    def waiting_of(self, tasks: list[Task]) -> dict[str, str]:
        """Why those of ``tasks`` that wait do, in a word."""
        return {task.id: self.waiting[task.id] for task in tasks if task.id in self.waiting}

    def viewers_of(self, tasks: list[Task]) -> dict[str, list[str]]:
        """Who has each of ``tasks`` on their screen (tasks nobody views: absent)."""
        seen = set(self.activity.focus_of.values())
        return {task.id: self.activity.viewers(task.id) for task in tasks if task.id in seen}

    def everyone_offline(self) -> None:
        """The desk is closing: every agent present is offline from now."""
        for agent, presence in list(self._presence.items()):
            if presence != Presence.OFFLINE:
                self.set_presence(agent, Presence.OFFLINE)

    # --- routing ------------------------------------------------------------------

    def route_soon(self) -> None:
        """A routing pass in a moment: a burst of changes makes one pass."""
        if self.routing is None or self._routing_soon is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a command-line tool on the store): nothing to route for
        self._routing_soon = loop.call_later(ROUTING_DELAY, self._start_routing)

    def _start_routing(self) -> None:
        self._routing_soon = None
        run = asyncio.ensure_future(self._route_logged())
        self._routing_runs.add(run)
        run.add_done_callback(self._routing_runs.discard)

    async def _route_logged(self) -> None:
        try:
            await self.route_waiting()
        except Exception:
            log.exception("a routing pass failed; the next change tries again")

    async def _explain_routing(self, task_id: str) -> list[str]:
        routing = self.routing or RoutingPass(RoutingConfig())
        presence, book = dict(self._presence), self.agents

        def explained() -> list[str]:
            ctx = self._context(DESK_ACTOR)
            return routing.explain(ctx, ctx.task(task_id), presence, book)

        return await self.read(explained, urgent=True)

    async def route_waiting(self) -> int:
        """Assign what waits to whoever can take it now; how many were assigned."""
        routing = self.routing
        if routing is None:
            return 0
        presence, book, gone = dict(self._presence), self.agents, dict(self._gone_since)
        made: int = await self.execute(
            DESK_ACTOR, lambda ctx: routing.plan(ctx, presence, book, gone)
        )
        self._reasons_changed(routing.reasons)
        return made

    def _reasons_changed(self, reasons: dict[str, str]) -> None:
        """Tell the consoles why waiting tasks wait, where that changed."""
        changed = {tid: word for tid, word in reasons.items() if self.waiting.get(tid) != word}
        changed.update({tid: "" for tid in self.waiting if tid not in reasons})
        self.waiting = dict(reasons)
        if changed:
            self.bus.publish(Update(seq=self.store.seq, waiting=changed))

    async def forget_old_commands(self) -> int:
        """Drop the ids of commands applied longer ago than ``applied.KEEP_SECONDS``."""
        items = [
            (key, decode_value(data))
            for (ns, key), data in list(self._state.items())
            if ns == applied.COMMANDS_NAMESPACE
        ]
        batch = applied.forget_batch(items, self.clock())
        if batch:
            await self.execute(DESK_ACTOR, lambda ctx: Plan(batch, [], None))
        return len(batch.state)

    # --- channels ---------------------------------------------------------------

    def register_channel(self, status: ChannelStatus) -> None:
        self._channels = {**self._channels, status.name: status}
        self.bus.publish(Update(seq=self.store.seq, channels=[status]))

    def update_channel(self, name: str, **changes: Any) -> None:
        # No notice: the status travels in the update, and each client says
        # it its own way (the console toasts a channel going down and back).
        old = self._channels.get(name)
        if old is None:
            return
        new = evolve(old, **changes)
        self._channels = {**self._channels, name: new}
        self.bus.publish(Update(seq=self.store.seq, channels=[new]))

    def declare_identity_kinds(self, kinds: tuple[IdentityRules, ...]) -> None:
        """Kinds of address a channel's plugin brings (a kind known already keeps
        its rules: the first plugin to declare it decides)."""
        self.kinds = self.kinds.with_kinds(kinds)

    def channels(self) -> list[ChannelStatus]:
        return list(self._channels.values())

    def channel(self, name: str) -> ChannelStatus | None:
        return self._channels.get(name)

    def capabilities(self, name: str) -> Capabilities:
        status = self._channels.get(name)
        if status is None:
            raise InboundRejected(f"unknown channel {name!r}")
        return status.capabilities

    def set_handoff_gateway(self, gateway: HandoffGateway | None) -> None:
        self._handoff_gateway = gateway

    def set_typing_gateway(self, gateway: TypingGateway | None) -> None:
        self._typing_gateway = gateway

    def set_read_gateway(self, gateway: ReadGateway | None) -> None:
        """Who sends customers read receipts (the channel runtime)."""
        self._read_gateway = gateway

    def set_call_gateway(self, gateway: CallGateway | None) -> None:
        """Who places calls back (the channel runtime)."""
        self._call_gateway = gateway

    def set_refusal_gateway(self, gateway: RefusalGateway | None) -> None:
        """Who says, before a reply is queued, that its channel will never send it."""
        self._refusal_gateway = gateway

    @property
    def handoff_gateway(self) -> HandoffGateway | None:
        return self._handoff_gateway

    @property
    def typing_gateway(self) -> TypingGateway | None:
        return self._typing_gateway

    # --- CRM enrichment -------------------------------------------------------------

    def set_crm_gateway(self, gateway: CrmGateway | None) -> None:
        """Who runs the enrichers (the channel host)."""
        self._crm = gateway

    async def crm_record(self, customer_id: str) -> dict[str, Any] | None:
        """The CRM cache's record of a customer (see ``crm``)."""
        return await self.read(record_of, self.store, customer_id)

    async def crm_answered(self, customer_id: str, answers: list[LookupAnswer]) -> None:
        """Keep what the enrichers said about a customer; their waiting tasks
        are routed again with the customer's new fields."""
        changed = await self.execute(DESK_ACTOR, plan_answers, customer_id, answers)
        if changed and self.routing is not None:
            tasks = await self.read(self.store.tasks_of_customer, customer_id)
            # The rules' verdict on a waiting task is kept from its first
            # pass; a customer field just learnt may change it.
            self.routing.forget(task.id for task in tasks)
            self.route_soon()

    async def _crm_profile(self, customer_id: str) -> Any:
        gateway = self._crm
        record = await self.read(record_of, self.store, customer_id, urgent=True)
        if gateway is None:
            return profile_of(customer_id, record, (), False)
        if not is_fresh(record, self.clock(), gateway.ttl):
            # Asked before the task's focus arrived, or the cache went stale:
            # the answer says a look-up runs, and the pane waits for it.
            gateway.look_up_soon(customer_id)
        return profile_of(customer_id, record, gateway.enrichers, gateway.running(customer_id))

    # --- ingest -------------------------------------------------------------------

    async def ingest(self, channel: str, item: Any) -> Any:
        """Store one inbound item durably. Raises ``InboundRejected`` for a
        malformed item; returns None for signals (typing) and receipts."""
        return await self.inflow.ingest(channel, item)

    async def ingest_many(self, channel: str, items: list[Any]) -> list[Any]:
        """Store several inbound items of one channel in one durable transaction
        (see ``Inflow.ingest_many``); per item, its result or its exception."""
        return await self.inflow.ingest_many(channel, items)

    # --- outbox ---------------------------------------------------------------------

    def outbox_due(self, now: float) -> list[OutboxEntry]:
        due = [e for e in self._outbox.values() if e.next_attempt_at <= now]
        return sorted(due, key=lambda e: e.event_id)

    def next_outbox_time(self) -> float | None:
        times = [e.next_attempt_at for e in self._outbox.values()]
        return min(times) if times else None

    async def outbound_for(self, entry: OutboxEntry) -> Outbound:
        return await self.read(lambda: outbox_book.outbound_for(self._context(DESK_ACTOR), entry))

    async def delivery_succeeded(self, entry: OutboxEntry, delivery: Delivery) -> None:
        await self.execute(DESK_ACTOR, outbox_book.plan_delivered, entry, delivery)

    async def delivery_failed(
        self, entry: OutboxEntry, error: str, *, permanent: bool, retry_at: float | None
    ) -> None:
        await self.execute(DESK_ACTOR, outbox_book.plan_failed, entry, error, permanent, retry_at)

    # --- plugin state -------------------------------------------------------------

    def state_get(self, namespace: str, key: str, default: Any = None) -> Any:
        """A channel's saved value (a copy: changing it changes nothing saved)."""
        data = self._state.get((namespace, key))
        return default if data is None else decode_value(data)

    async def state_set(self, namespace: str, key: str, value: Any) -> None:
        """Save a channel's state durably (``None`` deletes it)."""
        if value is not None:
            encode_value(value)  # refused here, before anything is written

        def plan(ctx: PlanContext) -> Plan:
            return Plan(Batch(state=[(namespace, key, value)]), [], None)

        await self.execute(DESK_ACTOR, plan)

    # --- surveys ----------------------------------------------------------------------

    def set_surveys(self, config: SurveyConfig) -> None:
        """What customers are asked from now on (both when a task closes and
        what a reply with a number answers)."""
        self.surveys = config
        ingestor = self.inflow.ingestor
        ingestor.rules = dataclasses.replace(ingestor.rules, surveys=config)

    def _close_and_survey(self, ctx: PlanContext, request: rq.SetStatus) -> Plan:
        """A status change by an agent: a close schedules the customer's survey."""
        plan = actions.plan_status(ctx, request)
        surveys.schedule(ctx, self.surveys, plan)
        return plan

    async def send_due_surveys(self) -> int:
        """Send the surveys (and second questions) that are due; how many."""
        now = self.clock()
        pending = [
            (key, decode_value(data))
            for (namespace, key), data in list(self._state.items())
            if namespace == surveys.SURVEYS
        ]
        sent = 0
        for task_id in surveys.due(pending, now):
            plan = await self.execute(
                DESK_ACTOR, surveys.plan_send, self.surveys, task_id, self.survey_links
            )
            sent += plan is not None
        return sent

    async def answer_survey_link(self, token: str, score: int) -> tuple[str, str]:
        """A customer clicked a survey link: ``("recorded" | "already" | "unknown", label)``."""
        result: tuple[str, str] = await self.execute(
            DESK_ACTOR, surveys.plan_link_answer, token, score
        )
        return result

    async def comment_survey_link(self, token: str, comment: str) -> bool:
        """The comment from a survey's thank-you page; False when not taken."""
        taken: bool = await self.execute(DESK_ACTOR, surveys.plan_link_comment, token, comment)
        return taken

    # --- time -----------------------------------------------------------------------

    async def wake_snoozed(self) -> int:
        """Reopen pending tasks whose snooze time has passed; returns how many."""
        now = self.clock()
        due = await self.read(
            lambda: [
                t.id
                for t in self.store.tasks([Status.PENDING])
                if t.pending_until is not None and t.pending_until <= now
            ]
        )
        woken = 0
        for task_id in due:
            try:
                await self.execute(DESK_ACTOR, actions.plan_wake, task_id)
                woken += 1
            except DeskError:
                pass  # an agent moved it meanwhile
        return woken


def _op(request: rq.Request | None) -> str:
    """The request's tag on the wire (``reply``, ``assign``...)."""
    return "" if request is None else str(request.__struct_config__.tag)
