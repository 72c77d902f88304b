"""Running the configured enrichers: CRM look-ups in the background.

``EnrichmentRuntime`` makes one enricher per ``[[enrichers]]`` table (a
table naming an unknown plugin or a wrong option is logged and skipped) and
is the desk's CRM gateway: when an agent opens a task, the desk asks it to
look the customer up, and it also looks up, ahead of time, the customers of
the ``prefetch`` tasks at the top of the queue — whenever the queue changes,
and every minute.

A look-up runs as a task of its own, never awaited by the console, ingest or
the desk: at most one per customer at a time, none while the cache is fresh
(``enrichment.ttl``). Each enricher is asked about each identity of the
customer in turn (email, then phone, then the others) until one answers,
all within ``enrichment.timeout``; what they said goes to the desk, which
keeps it (``core/desk/crm.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from agentdesk.core.config import Config
from agentdesk.core.desk.crm import LookupAnswer, is_fresh
from agentdesk.domain import Customer, Priority, Status, Task
from agentdesk.plugin import Enricher, LookupUnavailable, PluginConfigError

from .discovery import PluginCatalog, discover, resolve_enricher
from .enricher_context import EnricherContext

log = logging.getLogger("agentdesk.enrichment")

#: The queue is looked at again this often even when nothing changed.
PREFETCH_SECONDS = 60.0
#: A burst of queue changes makes one prefetch, this long after the first.
PREFETCH_DELAY = 0.2
#: Prefetched look-ups running at once (an opened task's look-up never waits).
BACKGROUND_AT_ONCE = 4
_KIND_ORDER = {"email": 0, "phone": 1}
_PRIORITY_ORDER = {p: rank for rank, p in enumerate(reversed(list(Priority)))}


class EnrichmentRuntime:
    """Every configured enricher, and the look-ups the desk asks for."""

    def __init__(
        self,
        desk: Any,
        config: Config,
        *,
        catalog: PluginCatalog | None = None,
        data_root: Path | None = None,
    ) -> None:
        self.desk = desk
        self.config = config
        self.catalog = catalog
        self.data_root = data_root or Path(config.store) / "enrichers"
        self.settings = config.enrichment
        #: name -> the running instance, in config order.
        self.instances: dict[str, Enricher] = {}
        #: What kept a table from running (the message names the file and key).
        self.problems: list[str] = []
        self._contexts: list[EnricherContext] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._background = asyncio.Semaphore(BACKGROUND_AT_ONCE)
        self._queue_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- the desk's gateway ------------------------------------------------------

    @property
    def enrichers(self) -> tuple[str, ...]:
        return tuple(self.instances)

    @property
    def ttl(self) -> float:
        return self.settings.ttl

    def running(self, customer_id: str) -> bool:
        return customer_id in self._running

    def look_up_soon(self, customer_id: str) -> None:
        self._start(customer_id, urgent=True)

    async def settle(self) -> None:
        """Return once no look-up runs (those started meanwhile included)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Make the enrichers and become the desk's CRM gateway (with none, nothing runs)."""
        if not self.config.enrichers:
            return
        if self.catalog is None:
            self.catalog = await asyncio.to_thread(discover, self.config.plugin_paths)
        for table in self.config.enrichers:
            where = f"{self.config.source}: enrichers[{table.index}]"
            try:
                cls, options = resolve_enricher(
                    self.catalog, table.plugin, table.options, where=where
                )
                data_dir = self.data_root / table.name
                await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
                context = EnricherContext(
                    name=table.name, options=options, desk=self.desk, data_dir=data_dir
                )
                self.instances[table.name] = cls(context)
                self._contexts.append(context)
            except PluginConfigError as exc:
                self._skip(str(exc))
            except Exception as exc:  # a plugin's own __init__ failing
                self._skip(f"{where}: the enricher could not start ({type(exc).__name__})")
        if not self.instances:
            return
        self.desk.set_crm_gateway(self)
        self._tasks.append(asyncio.create_task(self._watch_queue(), name="crm-queue"))
        self._tasks.append(asyncio.create_task(self._prefetch_loop(), name="crm-prefetch"))

    def _skip(self, problem: str) -> None:
        log.error("%s", problem)
        self.problems.append(problem)

    async def stop(self) -> None:
        if self.instances:
            self.desk.set_crm_gateway(None)
        tasks = [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._running.clear()
        for context in self._contexts:
            await context.close()

    # -- look-ups ----------------------------------------------------------------------

    def _start(self, customer_id: str, *, urgent: bool) -> None:
        if not self.instances or customer_id in self._running:
            return
        task = asyncio.create_task(self._look_up(customer_id, urgent), name="crm-lookup")
        self._running[customer_id] = task
        task.add_done_callback(lambda _: self._running.pop(customer_id, None))

    async def _look_up(self, customer_id: str, urgent: bool) -> None:
        try:
            if urgent:
                await self._look_up_now(customer_id)
            else:
                async with self._background:
                    await self._look_up_now(customer_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("looking a customer up failed")

    async def _look_up_now(self, customer_id: str) -> None:
        desk = self.desk
        customer: Customer | None = await desk.read(desk.store.get_customer, customer_id)
        if customer is None or customer.merged_into is not None:
            return
        record = await desk.crm_record(customer_id)
        if is_fresh(record, desk.clock(), self.settings.ttl):
            return
        identities = sorted(customer.identities, key=lambda i: _KIND_ORDER.get(i.kind, 2))
        answers = await asyncio.gather(
            *(self._ask(name, enricher, identities) for name, enricher in self.instances.items())
        )
        await desk.crm_answered(customer_id, list(answers))

    async def _ask(self, name: str, enricher: Enricher, identities: list[Any]) -> LookupAnswer:
        """One enricher about each identity in turn, until one answers."""
        try:
            async with asyncio.timeout(self.settings.timeout):
                for kind, value in identities:
                    fields = await enricher.lookup(kind, value)
                    if fields:
                        return LookupAnswer(name, fields=dict(fields))
        except TimeoutError:
            return LookupAnswer(name, error="timeout")
        except LookupUnavailable as exc:
            return LookupAnswer(name, error=str(exc) or "unavailable")
        except Exception as exc:
            # Only the type: a plugin's message might carry what it was sent.
            log.warning("enricher %s failed a look-up: %s", name, type(exc).__name__)
            return LookupAnswer(name, error=type(exc).__name__)
        return LookupAnswer(name)

    # -- ahead of time -------------------------------------------------------------------

    async def _watch_queue(self) -> None:
        """Note each change of the tasks (the queue may have moved)."""
        async for _ in self.desk.bus.subscribe(self.desk.store.seq, lambda u: bool(u.tasks)):
            self._queue_changed.set()

    async def _prefetch_loop(self) -> None:
        while True:
            try:
                await self.prefetch()
            except Exception:
                log.exception("looking up the customers at the top of the queue failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue_changed.wait(), PREFETCH_SECONDS)
            await asyncio.sleep(PREFETCH_DELAY)
            self._queue_changed.clear()

    async def prefetch(self) -> list[str]:
        """Look up the customers of the tasks at the top of the queue; their ids."""
        count = self.settings.prefetch
        if count <= 0 or not self.instances:
            return []
        store = self.desk.store
        tasks: list[Task] = await self.desk.read(store.tasks, [Status.OPEN])
        customers = list(dict.fromkeys(t.customer_id for t in sorted(tasks, key=_queue_order)))
        for customer_id in customers[:count]:
            self._start(customer_id, urgent=False)
        return customers[:count]


def _queue_order(task: Task) -> tuple[int, float]:
    """The most urgent first, then the longest waiting."""
    waiting = task.waiting_since if task.waiting_since is not None else task.created_at
    return (_PRIORITY_ORDER.get(task.priority, 0), waiting)
