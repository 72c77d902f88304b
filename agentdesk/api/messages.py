"""What the desk answers and streams: channels, updates, snapshots, search pages.

msgspec Structs, so the same objects serve in process and on the wire
(``agentdesk.api.codec``). Tasks, customers and events are the domain's own.
"""

from __future__ import annotations

import msgspec

from agentdesk.domain import Customer, Task
from agentdesk.domain.events import AnyEvent
from agentdesk.plugin import Capabilities, HealthState

from .agents import AgentInfo

UNKNOWN_KIND = "unknown"
#: What a configured channel whose plugin could not be loaded is known to do:
#: nothing yet, but replies to its tasks are queued (they go out once it loads).
UNLOADED = Capabilities(kind=UNKNOWN_KIND, identity_kind=UNKNOWN_KIND, inbound=False, outbound=True)


class ChannelStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One channel instance as the console shows it."""

    name: str
    plugin: str
    capabilities: Capabilities
    state: HealthState = HealthState.STARTING
    detail: str = ""
    last_error: str | None = None
    next_retry_at: float | None = None
    restarts: int = 0

    @property
    def kind(self) -> str:
        return self.capabilities.kind


class SlaDue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When a task's nearest service-level target turns amber and then red.

    Moments in wall time, computed by the desk in business hours with the
    clock stopped while the task is pending; a console compares them with
    its clock. ``metric`` is the target that runs out first:
    ``first_response``, ``next_reply`` or ``resolution``.
    """

    metric: str
    warn_at: float
    due_at: float


class Update(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """What changed in one committed batch (or a health change, seq unchanged).

    ``reset`` means the subscriber fell too far behind: reload a snapshot.
    ``notices`` are sentences worth a toast ("task #1042 assigned to you").
    """

    seq: int
    tasks: list[Task] = msgspec.field(default_factory=list)
    events: list[AnyEvent] = msgspec.field(default_factory=list)
    customers: list[Customer] = msgspec.field(default_factory=list)
    channels: list[ChannelStatus] = msgspec.field(default_factory=list)
    notices: list[str] = msgspec.field(default_factory=list)
    #: Agents whose record or presence changed.
    agents: list[AgentInfo] = msgspec.field(default_factory=list)
    #: Customers typing in real-time channels: task id -> typing or stopped.
    typing: dict[str, bool] = msgspec.field(default_factory=dict)
    #: Service-level clocks that changed: task id -> due, or None when none runs.
    sla: dict[str, SlaDue | None] = msgspec.field(default_factory=dict)
    #: Who has a task on their screen now, for the tasks where that changed.
    viewers: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: Why waiting tasks wait, in a word ("no de", "all busy"), where that
    #: changed; "" when a task no longer waits.
    waiting: dict[str, str] = msgspec.field(default_factory=dict)
    reset: bool = False
    #: The one agent this update is for (a notice for them alone); None: everyone.
    to: str | None = None
    #: With ``to``: the leads see it too (a whisper).
    leads: bool = False

    @property
    def changes_data(self) -> bool:
        """Whether it carries committed changes (not only health, typing, notices)."""
        return bool(self.tasks or self.events or self.customers)


class Snapshot(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The state a console starts from: open and pending tasks, and channels."""

    seq: int
    tasks: list[Task]
    channels: list[ChannelStatus]
    #: The running service-level clocks of those tasks (task id -> due).
    sla: dict[str, SlaDue] = msgspec.field(default_factory=dict)
    #: Who has each of those tasks on their screen (tasks nobody views: absent).
    viewers: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: Why each of those tasks that waits does, in a word (routing's).
    waiting: dict[str, str] = msgspec.field(default_factory=dict)


class TimelineEntry(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One task of a customer with its events, for the cross-channel timeline."""

    task: Task
    events: list[AnyEvent]


#: Text around matched words; True marks a matched word.
Segments = list[tuple[str, bool]]


class SearchHit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    task_id: str
    number: int
    status: str
    channel: str
    channel_kind: str
    customer_id: str
    customer_name: str
    subject: str
    assignee: str | None
    last_activity: float
    #: The best matching text around the matched words.
    snippet: Segments
    #: Higher ranks first: 2.0 when words were found in the subject or the
    #: customer's name or identities, 1.0 elsewhere, 0.0 for a query without words.
    score: float


class SearchPage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    hits: list[SearchHit]
    #: Matching tasks; past the count cap only a lower bound ("1,000+").
    total: int
    offset: int
    #: Where the next page starts; None on the last page.
    next_offset: int | None
    total_exact: bool = True
