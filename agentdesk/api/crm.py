"""A customer's CRM profile as the console's customer pane shows it."""

from __future__ import annotations

import msgspec


class CrmProfile(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """What the desk's enrichers said about one customer, and when.

    ``enrichers`` names the configured enrichers (none: the desk has no CRM,
    and the pane shows nothing). ``fields`` are in the order the CRM gave
    them, already cleaned, as of ``fetched_at`` (None: never fetched), from
    ``source`` (the enrichers that answered). ``error`` is why the last
    look-up failed (``timeout``), at ``error_at``; ``running``: a look-up is
    under way now.
    """

    customer_id: str
    enrichers: list[str] = []
    fields: dict[str, str] = {}
    source: list[str] = []
    fetched_at: float | None = None
    error: str = ""
    error_at: float | None = None
    running: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.enrichers)
