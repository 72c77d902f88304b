"""Every read and command of the desk as a message.

A request names what it asks (``op`` on the wire) and what answers it
(``result``, the type its answer decodes to). Commands change the desk and
pass the whole pipeline; reads only read. The same objects travel in process
(``LocalDeskClient``) and over a websocket.
"""

from __future__ import annotations

from typing import Any, ClassVar, Union

import msgspec

from agentdesk.domain import Customer, Priority, Status, Task
from agentdesk.domain.events import AnyEvent

from .actor import Role
from .agents import AgentInfo, AgentToken, Presence
from .board import Board
from .crm import CrmProfile
from .messages import ChannelStatus, SearchPage, Snapshot, TimelineEntry
from .report import ReportData


class Request(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="op"
):
    """A read or a command."""

    #: What the answer decodes to.
    result: ClassVar[Any] = None
    #: Whether it changes the desk (a command) or only reads it.
    command: ClassVar[bool] = False


# --- reads -------------------------------------------------------------------


class GetSnapshot(Request, frozen=True, tag="snapshot"):
    """Open and pending tasks and the channels, with the seq to stream from."""

    result = Snapshot


class GetTask(Request, frozen=True, tag="get_task"):
    task_id: str
    result = Task | None


class TaskByNumber(Request, frozen=True, tag="task_by_number"):
    number: int
    result = Task | None


class GetThread(Request, frozen=True, tag="thread"):
    """A task's events in time order."""

    task_id: str
    result = list[AnyEvent]


class GetCustomer(Request, frozen=True, tag="get_customer"):
    customer_id: str
    result = Customer | None


class GetTimeline(Request, frozen=True, tag="timeline"):
    """Every task of a customer with its events, newest task first."""

    customer_id: str
    result = list[TimelineEntry]


class Search(Request, frozen=True, tag="search"):
    """One page of tasks matching a query of the search language."""

    query: str
    limit: int = 50
    offset: int = 0
    result = SearchPage


class ListChannels(Request, frozen=True, tag="channels"):
    result = list[ChannelStatus]


class GetCrmProfile(Request, frozen=True, tag="crm_profile"):
    """What the CRM says about a customer: the fields cached, when, from which
    enricher, why the last look-up failed, and whether one runs now."""

    customer_id: str
    result = CrmProfile


class ExplainRouting(Request, frozen=True, tag="explain_routing"):
    """Why a task is assigned where it is, or waits: a few lines for a person."""

    task_id: str
    result = list[str]


# --- commands ------------------------------------------------------------------


class Command(Request, frozen=True, kw_only=True):
    command = True


class Reply(Command, frozen=True, tag="reply"):
    """A public answer to the customer, queued in the outbox at once.

    ``template``: send the channel's approved template of that name instead of
    free text (``text`` is then ignored), with ``params`` in its placeholders;
    outside a channel's messaging window it is the only reply taken.
    """

    task_id: str
    text: str
    template: str | None = None
    params: list[str] = []
    result = AnyEvent


class AddNote(Command, frozen=True, tag="note"):
    """An internal note on the task, never sent to the customer. ``whisper``
    (leads): for the task's agent alone, and the leads."""

    task_id: str
    text: str
    whisper: bool = False
    result = AnyEvent


class SetStatus(Command, frozen=True, tag="set_status"):
    task_id: str
    status: Status
    #: For ``pending``: when the task wakes up by itself (a snooze).
    pending_until: float | None = None
    result = Task


class Assign(Command, frozen=True, tag="assign"):
    task_id: str
    #: None takes it off whoever has it.
    assignee: str | None
    result = Task


class Transfer(Command, frozen=True, tag="transfer"):
    """Give the task to another agent and/or team, with a note for them."""

    task_id: str
    assignee: str | None = None
    team: str | None = None
    note: str = ""
    result = Task


class Handoff(Command, frozen=True, tag="handoff"):
    """Move the conversation to another channel, with a first message there."""

    task_id: str
    to_channel: str
    to_identity: str
    message: str | None = None
    #: The first message as one of the target channel's templates (see ``Reply``).
    template: str | None = None
    params: list[str] = []
    result = Task


class SetPriority(Command, frozen=True, tag="set_priority"):
    task_id: str
    priority: Priority
    result = Task


class SetTags(Command, frozen=True, tag="set_tags"):
    task_id: str
    tags: list[str]
    result = Task


class MarkRead(Command, frozen=True, tag="mark_read"):
    task_id: str


class Typing(Command, frozen=True, tag="typing"):
    """The agent writes a reply (or stopped): shown to the customer where the
    channel can, best effort. Changes nothing stored."""

    task_id: str
    typing: bool


class GetBoard(Request, frozen=True, tag="board"):
    """Today's flow per channel and each agent's load and time (leads)."""

    result = Board


class GetReport(Request, frozen=True, tag="report"):
    """The figures of a period grouped ``by`` channel, agent, team or day
    (leads): what ``agentdesk report --hub`` prints."""

    since: float
    until: float
    by: str = "channel"
    result = ReportData


class Focus(Request, frozen=True, tag="focus"):
    """The task now on the agent's screen (None: none): what focus time per
    channel is measured from. Changes no task, and is not queued while the
    hub is away (a stale focus would count time wrongly)."""

    task_id: str | None = None


class CallBack(Request, frozen=True, tag="call_back"):
    """Call the task's customer back by phone: the channel rings the agent,
    then puts the customer through; the call's record lands on the timeline
    when it ends. ``channel``: which calling channel (default: the task's own
    if it places calls, else the first that does). Not queued while the hub
    is away: a call placed late is worse than none. The answer is a line for
    the agent."""

    task_id: str
    channel: str | None = None
    result = str


class TakeNext(Command, frozen=True, tag="take_next"):
    """Pull: the agent takes the best waiting task for them, by routing's rules."""

    result = Task


class MergeCustomers(Command, frozen=True, tag="merge_customers"):
    """Fold one customer into another: identities, tasks and history."""

    keep_id: str
    merge_id: str
    result = Customer


# --- agents ---------------------------------------------------------------------


class ListAgents(Request, frozen=True, tag="agents"):
    """Every agent with their presence (revoked ones too, marked)."""

    result = list[AgentInfo]


class AddAgent(Command, frozen=True, tag="add_agent"):
    """A new agent; the answer carries their token, shown this once."""

    name: str
    role: Role = Role.AGENT
    display_name: str = ""
    teams: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    capacity: dict[str, int] = msgspec.field(default_factory=dict)
    total_limit: int | None = None
    result = AgentToken


class RevokeAgent(Command, frozen=True, tag="revoke_agent"):
    """The agent's token stops working at once; their open consoles are closed."""

    name: str
    result = AgentInfo


class RotateToken(Command, frozen=True, tag="rotate_token"):
    """A new token for the agent; the old one stops working at once."""

    name: str
    result = AgentToken


class SetPresence(Command, frozen=True, tag="set_presence"):
    """The agent's own presence (online, away); offline is the hub's to say."""

    presence: Presence
    result = AgentInfo


AnyRequest = Union[  # noqa: UP007 - msgspec needs the Union spelled out
    GetSnapshot,
    GetTask,
    TaskByNumber,
    GetThread,
    GetCustomer,
    GetTimeline,
    Search,
    ListChannels,
    GetCrmProfile,
    Reply,
    AddNote,
    SetStatus,
    Assign,
    Transfer,
    Handoff,
    SetPriority,
    SetTags,
    MarkRead,
    Typing,
    Focus,
    GetBoard,
    GetReport,
    MergeCustomers,
    TakeNext,
    CallBack,
    ListAgents,
    ExplainRouting,
    AddAgent,
    RevokeAgent,
    RotateToken,
    SetPresence,
]

REQUEST_TYPES: tuple[type[Request], ...] = AnyRequest.__args__  # type: ignore[attr-defined]
