"""Team mode: the desk served to many consoles (``agentdesk serve``)."""

from .server import Hub

__all__ = ["Hub"]
