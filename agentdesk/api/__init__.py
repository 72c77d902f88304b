"""The desk's messages: every request and answer, updates, errors with codes.

What ``DeskClient`` speaks, in process and on the wire; one codec
(``agentdesk.api.codec``). Imports the domain, the plugin API's data types
and nothing else of agentdesk.
"""

from .actor import SYSTEM, Actor, Role
from .client import DeskClient, DeskConnector, RequestMethods
from .errors import DeskError, ErrorCode, Problem
from .messages import (
    UNLOADED,
    ChannelStatus,
    SearchHit,
    SearchPage,
    Segments,
    SlaDue,
    Snapshot,
    TimelineEntry,
    Update,
)

__all__ = [
    "SYSTEM",
    "UNLOADED",
    "Actor",
    "ChannelStatus",
    "DeskClient",
    "DeskConnector",
    "DeskError",
    "ErrorCode",
    "Problem",
    "RequestMethods",
    "Role",
    "SearchHit",
    "SearchPage",
    "Segments",
    "SlaDue",
    "Snapshot",
    "TimelineEntry",
    "Update",
]
