"""Where a task can be handed off to."""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.api import ChannelStatus
from agentdesk.domain import Customer, Task
from agentdesk.plugin import ReplyTemplate


@dataclass(frozen=True, slots=True)
class HandoffTarget:
    """One channel, and the identity to reach the customer there (None: type one)."""

    channel: str
    kind: str
    identity_kind: str
    identity: str | None
    #: A phone line that takes no text: the handoff there is a call back.
    calls: bool = False
    #: A channel with a messaging window the customer has not opened there:
    #: the first message must be one of these templates.
    templates: tuple[ReplyTemplate, ...] = ()


def handoff_targets(
    task: Task, customer: Customer | None, channels: list[ChannelStatus]
) -> list[HandoffTarget]:
    """Channels the customer can be reached on, with their identity; then one
    "new identity" target per channel that can send."""
    known: list[HandoffTarget] = []
    new: list[HandoffTarget] = []
    for channel in channels:
        caps = channel.capabilities
        if not (caps.outbound or caps.calls) or channel.name == task.channel:
            continue
        calling = caps.calls and not caps.outbound
        templates = caps.templates if caps.reply_window_hours else ()
        for identity in customer.identities if customer else []:
            if identity.kind == caps.identity_kind:
                known.append(
                    HandoffTarget(
                        channel.name,
                        caps.kind,
                        caps.identity_kind,
                        identity.value,
                        calling,
                        templates,
                    )
                )
        new.append(
            HandoffTarget(channel.name, caps.kind, caps.identity_kind, None, calling, templates)
        )
    return known + new
