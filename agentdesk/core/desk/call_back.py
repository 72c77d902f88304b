"""Calling a customer back: which channel places the call, and to what number.

The planning half runs on the store's thread like any read (authorized on
the task as it is); the desk then asks the channel, on the event loop, to
place the call. Nothing is written here: the call's record comes from the
channel when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.api import requests as rq
from agentdesk.api.errors import channel_unavailable

from .actions import recipient
from .authorize import authorize
from .context import PlanContext, address


@dataclass(frozen=True, slots=True)
class CallTarget:
    channel: str
    #: The customer's number, as the channel dials it.
    to: str


def call_target(ctx: PlanContext, request: rq.CallBack) -> CallTarget:
    """The channel and number a call back for ``request`` goes through, or a
    refusal that says why there is none."""
    task = ctx.task(request.task_id)
    authorize(ctx.actor, request, task)
    calling = [s.name for s in ctx.channels.values() if s.capabilities.calls]
    if request.channel is not None:
        if request.channel not in calling:
            raise channel_unavailable(f"channel {request.channel} does not place calls")
        channel = request.channel
    elif task.channel in calling:
        channel = task.channel
    elif calling:
        channel = calling[0]
    else:
        raise channel_unavailable("no channel here places calls (a phone channel would)")
    return CallTarget(channel, address(recipient(ctx, task, channel)))
