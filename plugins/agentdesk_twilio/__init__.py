"""agentdesk's Twilio SMS channel: texts and MMS in through a signed webhook,
replies out through Twilio's REST API, delivery receipts from status callbacks.

Registered as ``twilio-sms`` in the ``agentdesk.channels`` entry-point group.
See docs/channels/twilio.md.
"""

from .channel import TwilioSmsChannel
from .segments import SegmentCount, segments

#: What the desk loads when it finds this package in a plugin folder.
CHANNELS = [TwilioSmsChannel]

__all__ = ["CHANNELS", "SegmentCount", "TwilioSmsChannel", "segments"]
