"""Agent activity: what an agent's presence and screen were, and since when.

Not part of any task's timeline: these records are what agent time is
measured from (online time, and the *focus* time of the task on screen).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ActivityKind(StrEnum):
    #: ``value`` is the new presence: online, away or offline.
    PRESENCE = "presence"
    #: ``value`` is the task now on the agent's screen ("" for none) and
    #: ``channel`` its channel kind at that moment.
    FOCUS = "focus"


class Activity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    agent: str
    at: float
    kind: ActivityKind
    value: str = ""
    channel: str = ""
