"""Routing: which waiting task goes to which agent (pure: no I/O, no clock).

The desk builds the inputs (waiting tasks, agents with presence and load)
and commits what ``route`` decides; ``explain`` says why a task waits.
"""

from .model import (
    DEFAULT_CAPACITY,
    REALTIME_KINDS,
    AgentState,
    Assignment,
    RoutingRules,
    WaitingTask,
)
from .route import queue_order, route

__all__ = [
    "DEFAULT_CAPACITY",
    "REALTIME_KINDS",
    "AgentState",
    "Assignment",
    "RoutingRules",
    "WaitingTask",
    "queue_order",
    "route",
]
