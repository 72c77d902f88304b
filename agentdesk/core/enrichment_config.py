"""``[[enrichers]]`` and ``[enrichment]`` in the config: CRM look-ups.

```toml
[enrichment]
ttl = "1d"          # how long fields looked up are fresh (seconds, or 90s, 2m, 4h, 3d)
timeout = 5         # seconds one look-up may take
prefetch = 10       # tasks at the top of the queue whose customer is looked up ahead

[[enrichers]]
plugin = "hubspot"
name = "crm"
token = "${HUBSPOT_TOKEN}"
```

In an ``[[enrichers]]`` table, ``plugin`` and ``name`` are the desk's keys
and every other key is an option of the plugin, checked by the plugin's own
declaration when the enricher starts (as in ``[[channels]]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .sla_config import read_duration

if TYPE_CHECKING:
    from .config import _Reader

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: A prefetch bound that keeps a typo from asking the CRM about the whole queue.
MAX_PREFETCH = 200


@dataclass(frozen=True, slots=True)
class EnricherConfig:
    plugin: str
    name: str
    #: The table's other keys: the plugin's options, ${VARS} substituted.
    options: dict[str, Any]
    index: int


@dataclass(frozen=True, slots=True)
class EnrichmentConfig:
    #: Seconds cached fields are fresh.
    ttl: float = 86400.0
    #: Seconds one look-up of one customer by one enricher may take.
    timeout: float = 5.0
    #: Tasks at the top of the queue whose customer is looked up ahead of time.
    prefetch: int = 10


def parse_enrichment(r: _Reader, table: dict[str, Any]) -> EnrichmentConfig:
    r.check_keys("enrichment", table, {"ttl", "timeout", "prefetch"})
    defaults = EnrichmentConfig()
    ttl = read_duration(r, "enrichment.ttl", table["ttl"]) if "ttl" in table else defaults.ttl
    timeout = r.number("enrichment.timeout", table.get("timeout", defaults.timeout), 0)
    if timeout <= 0 or timeout > 60:
        raise r.fail("enrichment.timeout", f"expected seconds from 0 to 60, got {timeout!r}")
    prefetch = r.integer(
        "enrichment.prefetch", table.get("prefetch", defaults.prefetch), 0, MAX_PREFETCH
    )
    return EnrichmentConfig(ttl=ttl, timeout=float(timeout), prefetch=prefetch)


def parse_enrichers(r: _Reader, value: Any) -> list[EnricherConfig]:
    if not isinstance(value, list):
        shown = "a table" if isinstance(value, dict) else repr(value)
        raise r.fail("enrichers", f"expected an array of tables ([[enrichers]]), got {shown}")
    enrichers: list[EnricherConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(value):
        key = f"enrichers[{index}]"
        table = r.table(key, raw)
        if "plugin" not in table:
            raise r.fail(f"{key}.plugin", "missing (which plugin looks customers up?)")
        plugin = r.text(f"{key}.plugin", table["plugin"])
        name = r.text(f"{key}.name", table.get("name", plugin))
        if not _NAME.match(name):
            raise r.fail(
                f"{key}.name",
                f"expected lowercase letters, digits, '-' or '_' (at most 40), got {name!r}",
            )
        if name in seen:
            raise r.fail(f"{key}.name", f"another enricher is already named {name!r}")
        seen.add(name)
        options = {k: r.expand(f"{key}.{k}", v) for k, v in table.items() if k not in _OWN}
        enrichers.append(EnricherConfig(plugin, name, options, index))
    return enrichers


_OWN = ("plugin", "name")
