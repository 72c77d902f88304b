"""The queries of ``SqliteStore``: every read of the Store protocol, as SQL.

Objects are decoded from the JSON documents the store wrote. Several rows are
decoded in one call: their documents joined into one JSON array.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from agentdesk.api import SearchPage
from agentdesk.domain import Activity, Customer, Event, Identity, OutboxEntry, Status, Task
from agentdesk.domain.codec import decode, decode_value
from agentdesk.domain.events import AnyEvent
from agentdesk.query.terms import Query
from agentdesk.search.reader import Reader

from .protocol import Change, StoreStats

_LISTS: dict[type, msgspec.json.Decoder] = {
    Customer: msgspec.json.Decoder(list[Customer]),
    Task: msgspec.json.Decoder(list[Task]),
    Event: msgspec.json.Decoder(list[AnyEvent]),  # type: ignore[valid-type]
    OutboxEntry: msgspec.json.Decoder(list[OutboxEntry]),
    Activity: msgspec.json.Decoder(list[Activity]),
}
_EXPORT_CHUNK = 2000


def decode_all(cls: type, docs: Iterable[bytes]) -> list[Any]:
    """The objects of class ``cls`` (``Event`` for events) held by ``docs``."""
    docs = list(docs)
    if not docs:
        return []
    return _LISTS[cls].decode(b"[" + b",".join(docs) + b"]")


class SqliteReads:
    """Reads over ``self._db`` (set by the store)."""

    _db: sqlite3.Connection

    def _one(self, cls: type, sql: str, params: tuple = ()) -> Any:
        row = self._db.execute(sql, params).fetchone()
        return None if row is None else decode(cls, row[0])

    def _all(self, cls: type, sql: str, params: tuple | list = ()) -> list[Any]:
        return decode_all(cls, (doc for (doc,) in self._db.execute(sql, params)))

    # --- customers ------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer | None:
        return self._one(Customer, "SELECT doc FROM customers WHERE id = ?", (customer_id,))

    def customer_by_identity(self, identity: Identity) -> Customer | None:
        return self._one(
            Customer,
            "SELECT c.doc FROM identities i JOIN customers c ON c.rid = i.customer_rid"
            " WHERE i.kind = ? AND i.value = ?",
            (identity.kind, identity.value),
        )

    def customers(self) -> Iterator[Customer]:
        yield from self._chunks(Customer, "customers")

    def _chunks(
        self, cls: type, table: str, order: str = "rid", where: str = "", params: tuple = ()
    ) -> Iterator[Any]:
        # Exports read in chunks: memory stays bounded on a store of any size.
        cursor = self._db.execute(f"SELECT doc FROM {table} {where} ORDER BY {order}", params)
        while rows := cursor.fetchmany(_EXPORT_CHUNK):
            yield from decode_all(cls, (doc for (doc,) in rows))

    # --- tasks ----------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        return self._one(Task, "SELECT doc FROM tasks WHERE id = ?", (task_id,))

    def task_by_number(self, number: int) -> Task | None:
        return self._one(Task, "SELECT doc FROM tasks WHERE number = ?", (number,))

    def tasks(self, statuses: Iterable[Status] | None = None) -> list[Task]:
        if statuses is None:
            return self._all(Task, "SELECT doc FROM tasks ORDER BY rid")
        wanted = [str(Status(s)) for s in dict.fromkeys(statuses)]
        marks = ",".join("?" * len(wanted))
        return self._all(Task, f"SELECT doc FROM tasks WHERE status IN ({marks})", wanted)

    def tasks_of_customer(self, customer_id: str) -> list[Task]:
        return self._all(
            Task,
            "SELECT doc FROM tasks WHERE customer_id = ? ORDER BY created_at, id",
            (customer_id,),
        )

    # --- events ---------------------------------------------------------------

    def get_event(self, event_id: str) -> Event | None:
        return self._one(Event, "SELECT doc FROM events WHERE id = ?", (event_id,))

    def events_of_task(self, task_id: str) -> list[Event]:
        return self._all(
            Event,
            "SELECT e.doc FROM tasks t JOIN events e ON e.task_rid = t.rid"
            " WHERE t.id = ? ORDER BY e.at, e.id",
            (task_id,),
        )

    def message_by_external_id(self, channel: str, external_id: str) -> Event | None:
        return self._one(
            Event,
            "SELECT doc FROM events WHERE channel = ? AND external_id = ? ORDER BY rid LIMIT 1",
            (channel, external_id),
        )

    def iter_events(self) -> Iterator[Event]:
        yield from self._chunks(Event, "events", "task_rid, at, id")

    def iter_activity(self, since: float = 0.0) -> Iterator[Activity]:
        yield from self._chunks(Activity, "activity", "at, rid", "WHERE at >= ?", (since,))

    # --- outbox and plugin state ------------------------------------------------

    def outbox(self) -> list[OutboxEntry]:
        return self._all(OutboxEntry, "SELECT doc FROM outbox ORDER BY event_id")

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        row = self._db.execute(
            "SELECT value FROM plugin_state WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return default if row is None else decode_value(row[0])

    def state_items(self) -> Iterator[tuple[str, str, Any]]:
        rows = self._db.execute(
            "SELECT namespace, key, value FROM plugin_state ORDER BY namespace, key"
        ).fetchall()
        return iter([(ns, key, decode_value(value)) for ns, key, value in rows])

    # --- the change feed, counts, search --------------------------------------------

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        changes: dict[int, Change] = {}
        for cls, table, name in (
            (Customer, "customers", "customers"),
            (Task, "tasks", "tasks"),
            (Event, "events", "events"),
        ):
            rows = self._db.execute(
                f"SELECT seq, doc FROM {table} WHERE seq > ? AND seq <= ? ORDER BY seq, rid",
                (seq, seq + limit),
            ).fetchall()
            objects = decode_all(cls, (doc for _, doc in rows))
            for (at, _), obj in zip(rows, objects, strict=True):
                change = changes.get(at)
                if change is None:
                    change = changes[at] = Change(at)
                getattr(change, name).append(obj)
        return [changes[at] for at in sorted(changes)]

    def stats(self) -> StoreStats:
        db = self._db
        by_status = {s.value: 0 for s in Status}
        by_status.update(db.execute("SELECT status, count(*) FROM tasks GROUP BY status"))
        return StoreStats(
            customers=db.execute("SELECT count(*) FROM customers").fetchone()[0],
            tasks_by_status=by_status,
            tasks_by_channel=dict(
                db.execute("SELECT channel, count(*) FROM tasks GROUP BY channel")
            ),
            events=db.execute("SELECT count(*) FROM events").fetchone()[0],
        )

    def search(
        self, query: Query, *, me: str | None, now: float, limit: int = 50, offset: int = 0
    ) -> SearchPage:
        return Reader(self._db).search(query, me=me, now=now, limit=limit, offset=offset)
