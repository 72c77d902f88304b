"""Setting Python's cyclic garbage collector for a long-running desk.

Ingest allocates a few dozen objects for each message it takes in, nearly all
of them short-lived and free of cycles. With the interpreter's defaults a
collection of the young generation runs every 700 allocations; every 10,000
is plenty. What exists once the desk is open (modules, the console's widgets)
lives as long as the process: it is moved out of the collector's sight
(``gc.freeze``), so full collections do not walk it again and again.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 10_000


def settle_after_load() -> None:
    """Call once the desk is open (process-wide; harmless to call again)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
