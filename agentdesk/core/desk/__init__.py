"""The desk: the pipeline every change takes, its planners, the outbox's
bookkeeping, the update stream, and the in-process client.

Imports the api, the domain, the store, search and the plugin API's data
types; never the channel host (``agentdesk.core.host``), which drives it.
"""

from .desk import DESK_ACTOR, Desk
from .ingest import InboundRejected, IngestResult, IngestRules
from .local_client import LocalDeskClient

__all__ = [
    "DESK_ACTOR",
    "Desk",
    "InboundRejected",
    "IngestResult",
    "IngestRules",
    "LocalDeskClient",
]
