"""The Textual agent console. It talks to the desk only through a DeskClient."""

from .app import AgentDeskApp

__all__ = ["AgentDeskApp"]
