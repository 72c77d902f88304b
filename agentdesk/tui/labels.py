"""Short labels the console shows for channels, states and times.

Every label carries its meaning in characters, not only in colour, so the console
reads the same on a monochrome terminal or to a colour-blind agent.
"""

from __future__ import annotations

from datetime import datetime

from agentdesk.domain import DeliveryState, Priority, Status
from agentdesk.plugin import HealthState

from .safe_text import safe_line

#: kind -> (icon, three-letter label). Icons are one cell wide everywhere.
CHANNEL_BADGES: dict[str, tuple[str, str]] = {
    "email": ("✉", "EML"),
    "chat": ("◆", "CHT"),
    "sms": ("✆", "SMS"),
    "social": ("@", "SOC"),
    "phone": ("☎", "TEL"),
}


def channel_badge(kind: str) -> str:
    """``"✉ EML"`` for email; unknown kinds get a dot and their first letters."""
    icon, label = CHANNEL_BADGES.get(kind, ("•", safe_line(kind or "???", 3).upper()))
    return f"{icon} {label:<3}"


STATUS_LABELS = {Status.OPEN: "open", Status.PENDING: "pending", Status.CLOSED: "closed"}

PRIORITY_LABELS = {
    Priority.LOW: "low",
    Priority.NORMAL: "",
    Priority.HIGH: "high",
    Priority.URGENT: "URG!",
}

HEALTH_SYMBOLS = {
    HealthState.STARTING: "…",
    HealthState.UP: "✔",
    HealthState.DEGRADED: "~",
    HealthState.DOWN: "✖",
    HealthState.STOPPED: "■",
}

DELIVERY_LABELS = {
    DeliveryState.RECEIVED: "received",
    DeliveryState.QUEUED: "⧗ queued, pending delivery",
    DeliveryState.SENT: "✓ sent",
    DeliveryState.DELIVERED: "✓✓ delivered",
    DeliveryState.READ: "✓✓ read",
    DeliveryState.FAILED: "✖ failed",
}


def format_wait(seconds: float) -> str:
    """A compact age: ``45s``, ``12m``, ``3h05``, ``2d4h``, ``9w``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}"
    days, hours = divmod(hours, 24)
    if days < 14:
        return f"{days}d{hours}h"
    return f"{days // 7}w"


def format_time(at: float, now: float) -> str:
    """``14:32`` today, ``Mon 14:32`` this week, ``2025-03-01 14:32`` before."""
    moment = datetime.fromtimestamp(at).astimezone()
    today = datetime.fromtimestamp(now).astimezone()
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    if abs(now - at) < 6 * 86400:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")
