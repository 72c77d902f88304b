"""agentdesk's web chat channel: a widget for a web site, live with the desk.

Registered as ``webchat`` in the ``agentdesk.channels`` entry-point group.
See docs/channels/webchat.md.
"""

from .channel import WebChatChannel

#: What the desk loads when it finds this package in a plugin folder.
CHANNELS = [WebChatChannel]

__all__ = ["CHANNELS", "WebChatChannel"]
