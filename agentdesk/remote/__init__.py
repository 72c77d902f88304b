"""The console's side of team mode: a desk client over the hub's websocket."""

from .client import HubRefused, RemoteDeskClient
from .journal import CommandJournal, MemoryJournal
from .link import Link, LinkState

__all__ = ["CommandJournal", "HubRefused", "Link", "LinkState", "MemoryJournal", "RemoteDeskClient"]
