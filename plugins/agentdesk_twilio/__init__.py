"""agentdesk's Twilio channels.

``twilio-sms``: texts and MMS in through a signed webhook, replies out through
Twilio's REST API, delivery receipts from status callbacks.

``twilio-voice``: calls to a Twilio number as call records (answered, missed,
voicemail with its transcription), and call backs through the REST API.

Both are registered in the ``agentdesk.channels`` entry-point group and share
the account's options, the webhook signature check and the API client.
See docs/channels/twilio.md.
"""

from .channel import TwilioSmsChannel
from .voice import TwilioVoiceChannel

#: What the desk loads when it finds this package in a plugin folder.
CHANNELS = [TwilioSmsChannel, TwilioVoiceChannel]

__all__ = ["CHANNELS", "TwilioSmsChannel", "TwilioVoiceChannel"]
