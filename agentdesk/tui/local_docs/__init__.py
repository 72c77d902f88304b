"""The console's own small documents, kept on the agent's machine in one TinyDB
file: drafts, preferences, recent searches. Nothing here imports textual."""

from .database import (
    DRAFT_DAYS,
    FILE_NAME,
    AgentDocuments,
    ConsoleDocuments,
    default_documents_path,
)
from .draft_book import DraftBook, DraftChange
from .drafts import Draft
from .keeper import DocumentKeeper
from .preferences import Preferences
from .searches import RECENT_SEARCHES, remember
from .storage import AtomicJSONStorage, DamagedFile

__all__ = [
    "DRAFT_DAYS",
    "FILE_NAME",
    "RECENT_SEARCHES",
    "AgentDocuments",
    "AtomicJSONStorage",
    "ConsoleDocuments",
    "DamagedFile",
    "DocumentKeeper",
    "Draft",
    "DraftBook",
    "DraftChange",
    "Preferences",
    "default_documents_path",
    "remember",
]
