"""The supervision board: each channel's flow today and each agent's load.

Computed by the desk from ``agentdesk.metrics`` (the fold reports use too),
so its figures are the report's for the same period.
"""

from __future__ import annotations

import msgspec


class ChannelFlow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: The channel kind (chat, email, sms...).
    channel: str
    #: Open, unassigned tasks now, and how long the oldest has waited (s).
    waiting: int = 0
    longest_wait: float | None = None
    received: int = 0
    handled: int = 0
    first_response_p50: float | None = None
    first_response_p90: float | None = None
    #: Open tasks past a service-level target now, and those in its last stretch.
    breached: int = 0
    near_breach: int = 0
    #: Agents online, and those of them with room for one more task here.
    online: int = 0
    available: int = 0
    #: Tasks waiting at each of the last 60 minutes, oldest first.
    queue: list[int] = msgspec.field(default_factory=list)


class AgentLoad(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    presence: str = "offline"
    #: Open tasks assigned now, and room, per channel kind.
    load: dict[str, int] = msgspec.field(default_factory=dict)
    capacity: dict[str, int] = msgspec.field(default_factory=dict)
    #: Today: online seconds, and focus and engaged seconds per channel.
    online: float = 0.0
    focus: dict[str, float] = msgspec.field(default_factory=dict)
    engaged: dict[str, float] = msgspec.field(default_factory=dict)
    #: The task on their screen now.
    focus_task: str | None = None


class Board(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: When it was computed, and the start of the day it covers (local midnight).
    at: float
    since: float
    channels: list[ChannelFlow] = msgspec.field(default_factory=list)
    agents: list[AgentLoad] = msgspec.field(default_factory=list)
