"""The console's side of team mode: a desk client over the hub's websocket."""

from agentdesk.api.link import Link, LinkState

from .client import HubRefused, RemoteDeskClient
from .journal import CommandJournal, MemoryJournal

__all__ = ["CommandJournal", "HubRefused", "Link", "LinkState", "MemoryJournal", "RemoteDeskClient"]
