"""agentdesk's web chat channel: a widget for a web site, live with the desk.

Registered as ``webchat`` in the ``agentdesk.channels`` entry-point group.
See docs/channels/webchat.md.
"""

from .channel import WebChatChannel

__all__ = ["WebChatChannel"]
