"""``[sla]`` in the config: service-level targets per channel kind and priority.

```toml
[sla]
warn_at = 0.75                 # amber once three quarters of a target are spent

[[sla.targets]]                # the default for every channel and priority
first_response = "4h"
next_reply = "8h"
resolution = "3d"

[[sla.targets]]
channel = "chat"               # a channel kind: chat, email, sms, social, phone
first_response = "2m"
next_reply = "5m"

[[sla.targets]]
channel = "chat"
priority = "urgent"
first_response = "30s"
```

Durations are business time (``[business_hours]``), as seconds or with a
unit: ``90s``, ``2m``, ``4h``, ``3d``. The most specific target of a task
applies: its channel and priority, then its channel, then its priority,
then the default.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agentdesk.domain import Priority
from agentdesk.metrics.sla import ANY, CLOCK_NAMES, SlaPolicy, SlaTarget

if TYPE_CHECKING:
    from .config import _Reader

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CLOCKS = tuple(CLOCK_NAMES.values())


def parse_sla(r: _Reader, table: dict[str, Any]) -> SlaPolicy:
    r.check_keys("sla", table, {"warn_at", "targets"})
    warn_at = r.number("sla.warn_at", table.get("warn_at", 0.75), 0)
    if warn_at > 1:
        raise r.fail("sla.warn_at", f"a share of the target, from 0 to 1; got {warn_at!r}")
    raw = table.get("targets", [])
    if not isinstance(raw, list):
        raise r.fail("sla.targets", "expected an array of tables ([[sla.targets]])")
    targets = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(raw):
        key = f"sla.targets[{index}]"
        entry = r.table(key, item)
        r.check_keys(key, entry, {"channel", "priority", *_CLOCKS})
        channel = r.text(f"{key}.channel", entry.get("channel", ANY))
        priority = r.text(f"{key}.priority", entry.get("priority", ANY))
        if priority != ANY and priority not in {p.value for p in Priority}:
            known = ", ".join(p.value for p in Priority)
            raise r.fail(f"{key}.priority", f"{priority!r} is not a priority ({known})")
        if (channel, priority) in seen:
            raise r.fail(key, f"a second target for channel {channel!r}, priority {priority!r}")
        seen.add((channel, priority))
        clocks = {
            name: read_duration(r, f"{key}.{name}", entry[name])
            for name in _CLOCKS
            if name in entry
        }
        if not clocks:
            raise r.fail(key, f"give at least one of {', '.join(_CLOCKS)}")
        targets.append(SlaTarget(channel=channel, priority=priority, **clocks))
    return SlaPolicy(tuple(targets), warn_at)


def read_duration(r: _Reader, key: str, value: Any, *, zero_ok: bool = False) -> float:
    """A duration in seconds: a number, or text such as 90s, 2m, 4h, 3d."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise r.fail(key, f"{value!r} is not a duration: write 90s, 2m, 4h or 3d")
        seconds = float(found.group(1)) * _UNIT[found.group(2)]
    else:
        seconds = r.number(key, value, 0)
    if seconds < 0 or (seconds == 0 and not zero_ok):
        raise r.fail(key, "must be longer than nothing")
    return float(seconds)
