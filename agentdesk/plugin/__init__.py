"""The public API for channel plugin authors.

A plugin imports this module and nothing else of agentdesk::

    from agentdesk.plugin import Channel, Capabilities, InboundMessage, Delivery, Option

See docs/plugins.md for the guide and ``agentdesk.plugin.testing`` for the
conformance kit.
"""

from .channel import Channel, Enricher
from .context import HttpEndpoint, PluginContext, PluginState, WebSocketEndpoint
from .delivery_ledger import DeliveryLedger, DeliveryRecord
from .errors import (
    ChannelConnectionError,
    DeliveryError,
    LookupUnavailable,
    PermanentDeliveryError,
    PluginConfigError,
    PluginError,
    TemporaryDeliveryError,
)
from .hosts import is_loopback
from .identity import BUILTIN_IDENTITY_KINDS, IdentityKind
from .options import Option, OptionKind, parse_options
from .sms_segments import SegmentCount, sms_segments
from .types import (
    Capabilities,
    Delivery,
    DeliveryReceipt,
    HandoffContext,
    Health,
    HealthState,
    Inbound,
    InboundAttachment,
    InboundCall,
    InboundMessage,
    InboundSurvey,
    Outbound,
    ReplyTemplate,
    SampleWebhook,
    SurveyQuestion,
    TypingSignal,
)

__all__ = [
    "BUILTIN_IDENTITY_KINDS",
    "Capabilities",
    "Channel",
    "ChannelConnectionError",
    "Delivery",
    "DeliveryError",
    "DeliveryLedger",
    "DeliveryReceipt",
    "DeliveryRecord",
    "Enricher",
    "HandoffContext",
    "Health",
    "HealthState",
    "HttpEndpoint",
    "IdentityKind",
    "Inbound",
    "InboundAttachment",
    "InboundCall",
    "InboundMessage",
    "InboundSurvey",
    "LookupUnavailable",
    "Option",
    "OptionKind",
    "Outbound",
    "PermanentDeliveryError",
    "PluginConfigError",
    "PluginContext",
    "PluginError",
    "PluginState",
    "ReplyTemplate",
    "SampleWebhook",
    "SegmentCount",
    "SurveyQuestion",
    "TemporaryDeliveryError",
    "TypingSignal",
    "WebSocketEndpoint",
    "is_loopback",
    "parse_options",
    "sms_segments",
]
