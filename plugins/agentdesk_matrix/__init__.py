"""agentdesk's Matrix channel.

``matrix``: a bot account on a Matrix homeserver. Customers open a direct
room with the bot (or an agent's handoff opens one with them); each room's
customer is a ``matrix`` identity (``@ana:example.org``). Messages, files,
edits and deletions come in over ``/sync``; replies, typing and read
receipts go out through the client-server API. See docs/channels/matrix.md.
"""

from .channel import MatrixChannel

#: What the desk loads when it finds this package in a plugin folder.
CHANNELS = [MatrixChannel]

__all__ = ["CHANNELS", "MatrixChannel"]
