"""Checks on a channel's declaration and on the items it emits.

Discovery uses ``declaration_problems`` to refuse a broken class with a clear
message; the contract uses both.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from .channel import Channel
from .identity import BUILTIN_IDENTITY_KINDS, IdentityKind
from .options import Option
from .types import (
    Capabilities,
    DeliveryReceipt,
    InboundAttachment,
    InboundCall,
    InboundMessage,
    InboundSurvey,
    TypingSignal,
)

SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}


def declaration_problems(cls: Any) -> list[str]:
    """What is wrong with a channel class's declaration (empty when nothing is)."""
    if not isinstance(cls, type) or not issubclass(cls, Channel):
        return [f"{cls!r} is not a subclass of agentdesk.plugin.Channel"]
    problems = []
    if not isinstance(cls.plugin, str) or not cls.plugin.strip():
        problems.append("the class does not set `plugin` (the name written in config)")
    if not isinstance(getattr(cls, "capabilities", None), Capabilities):
        problems.append("the class does not set `capabilities` to a Capabilities(...)")
    options = cls.options
    if not isinstance(options, (tuple, list)) or not all(isinstance(o, Option) for o in options):
        problems.append("`options` must be a tuple of Option(...)")
    else:
        names = [o.name for o in options]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"option {name!r} is declared twice")
        for option in options:
            if option.default is not None and not option.required:
                try:
                    option.convert(option.default)
                except ValueError as exc:
                    problems.append(f"option {option.name!r}: default is invalid: {exc}")
    kinds = getattr(cls, "identity_kinds", ())
    if not isinstance(kinds, (tuple, list)) or not all(isinstance(k, IdentityKind) for k in kinds):
        problems.append("`identity_kinds` must be a tuple of IdentityKind(...)")
        kinds = ()
    caps = getattr(cls, "capabilities", None)
    known = {*BUILTIN_IDENTITY_KINDS, *(k.name for k in kinds)}
    if isinstance(caps, Capabilities) and caps.identity_kind not in known:
        problems.append(
            f"capabilities.identity_kind {caps.identity_kind!r} is neither built in"
            f" ({', '.join(BUILTIN_IDENTITY_KINDS)}) nor declared in `identity_kinds`"
        )
    for method in ("start", "stop", "send", "handoff_in"):
        if not asyncio.iscoroutinefunction(getattr(cls, method, None)):
            problems.append(f"`{method}` must be an async method")
    return problems


def inbound_problems(item: Any) -> list[str]:
    """What is malformed in an emitted item (empty when it is well formed)."""
    if isinstance(item, DeliveryReceipt):
        if isinstance(item.key, str) and item.key and item.state in ("delivered", "read"):
            return []
        return [f"DeliveryReceipt needs a key and a state of delivered or read, got {item!r}"]
    if not isinstance(item, (InboundMessage, InboundCall, InboundSurvey, TypingSignal)):
        return [f"emitted {type(item).__name__}, not an Inbound item"]
    kind = type(item).__name__
    problems = []
    identity = item.identity
    if not isinstance(identity, str) or not identity.strip():
        problems.append(f"{kind}.identity must be a non-empty string, got {identity!r}")
    for name in ("external_id", "at", "customer_name", "text", "subject", "summary", "comment"):
        value = getattr(item, name, None)
        if name == "at":
            if value is not None and (
                not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
            ):
                problems.append(f"{kind}.at must be epoch seconds or None, got {value!r}")
        elif name == "external_id":
            if value is not None and (not isinstance(value, str) or not value):
                problems.append(f"{kind}.external_id must be a non-empty string or None")
        elif hasattr(item, name) and not isinstance(value, str):
            problems.append(f"{kind}.{name} must be a string, got {type(value).__name__}")
    if isinstance(item, InboundMessage):
        if not all(isinstance(a, InboundAttachment) for a in item.attachments):
            problems.append("InboundMessage.attachments must hold InboundAttachment items")
        for pair in item.other_identities:
            if not (
                isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
            ):
                problems.append(
                    f"InboundMessage.other_identities holds {pair!r}, not (kind, value)"
                )
        if item.task_number is not None and not (
            isinstance(item.task_number, int) and item.task_number > 0
        ):
            problems.append("InboundMessage.task_number must be a positive int or None")
    elif isinstance(item, InboundCall):
        if item.direction not in ("inbound", "outbound"):
            problems.append(
                f"InboundCall.direction must be inbound or outbound, got {item.direction!r}"
            )
        if item.outcome not in ("answered", "missed", "voicemail"):
            problems.append(
                f"InboundCall.outcome must be answered, missed or voicemail, got {item.outcome!r}"
            )
        if not isinstance(item.duration_seconds, (int, float)) or item.duration_seconds < 0:
            problems.append("InboundCall.duration_seconds must be a number >= 0")
    elif isinstance(item, InboundSurvey):
        bounds = SURVEY_RANGES.get(item.metric)
        if bounds is None:
            problems.append(f"InboundSurvey.metric must be csat, nps or ces, got {item.metric!r}")
        elif not isinstance(item.score, int) or not bounds[0] <= item.score <= bounds[1]:
            problems.append(
                f"InboundSurvey.score for {item.metric} must be "
                f"{bounds[0]}-{bounds[1]}, got {item.score!r}"
            )
    return problems
