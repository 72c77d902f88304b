"""A channel whose option declaration is wrong: the default breaks its own bounds."""

from agentdesk.plugin import Capabilities, Channel, Option


class BadOption(Channel):
    plugin = "bad-option"
    capabilities = Capabilities(kind="sms", identity_kind="phone")
    options = (Option.number("port", default=70000, minimum=1, maximum=65535),)
