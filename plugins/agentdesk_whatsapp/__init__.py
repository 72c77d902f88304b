"""agentdesk's WhatsApp channel (``whatsapp``): Meta's WhatsApp Business Cloud API.

Messages in through the app's signed webhook (text, pictures, voice notes,
videos, files, locations, contact cards), replies and approved templates out
through ``/{phone_number_id}/messages``, delivery and read receipts from the
statuses Meta reports, blue ticks when an agent opens the conversation.
See docs/channels/whatsapp.md.
"""

from .channel import WhatsAppChannel

#: What the desk loads when it finds this package in a plugin folder.
CHANNELS = [WhatsAppChannel]

__all__ = ["CHANNELS", "WhatsAppChannel"]
