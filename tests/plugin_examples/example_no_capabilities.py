"""A channel class that forgets to declare its capabilities."""

from agentdesk.plugin import Channel


class NoCapabilities(Channel):
    plugin = "no-capabilities"
