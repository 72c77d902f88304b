"""The domain model: customers, identities, tasks and their events.

Pure data and the rules that need no storage. Imports nothing else of agentdesk.
"""

from .activity import Activity, ActivityKind
from .customer import Customer, Identity, IdentityKind, identity_problem, normalize_identity
from .events import (
    EVENT_TYPES,
    Assignment,
    Attachment,
    CallRecord,
    DeliveryState,
    Direction,
    Event,
    Handoff,
    Message,
    Note,
    StatusChange,
    SurveyAnswer,
    SurveyAsk,
    TaskUpdate,
    Transfer,
    Whisper,
)
from .ids import IdFactory, id_time
from .outbox import OutboxEntry
from .task import IllegalTransition, Priority, Status, Task, check_transition

__all__ = [
    "EVENT_TYPES",
    "Activity",
    "ActivityKind",
    "Assignment",
    "Attachment",
    "CallRecord",
    "Customer",
    "DeliveryState",
    "Direction",
    "Event",
    "Handoff",
    "IdFactory",
    "Identity",
    "IdentityKind",
    "IllegalTransition",
    "Message",
    "Note",
    "OutboxEntry",
    "Priority",
    "Status",
    "StatusChange",
    "SurveyAnswer",
    "SurveyAsk",
    "Task",
    "TaskUpdate",
    "Transfer",
    "Whisper",
    "check_transition",
    "id_time",
    "identity_problem",
    "normalize_identity",
]
