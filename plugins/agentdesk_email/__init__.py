"""agentdesk's email channel: IMAP in (IDLE or polling), SMTP out, threaded replies.

Registered under the ``agentdesk.channels`` entry point as ``email``.
See docs/channels/email.md.
"""

from .channel import EmailChannel

__all__ = ["EmailChannel"]
