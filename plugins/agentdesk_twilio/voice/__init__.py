"""agentdesk's Twilio voice channel: call records from a Twilio number (answered,
missed, voicemail with its transcription), and call backs through the REST API.

Registered as ``twilio-voice`` in the ``agentdesk.channels`` entry-point group.
See docs/channels/twilio.md.
"""

from .channel import TwilioVoiceChannel

__all__ = ["TwilioVoiceChannel"]
