"""``agentdesk export``, ``import`` and ``stats``: the store as JSON lines, and counts."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentdesk.domain import Customer, Event, OutboxEntry, Status, Task
from agentdesk.domain.codec import CodecError, from_builtins, to_builtins
from agentdesk.domain.text import clean_text, safe_line
from agentdesk.store import Batch, Store

from .base import CommandError, Invocation, open_store

FORMAT = "agentdesk-export"
VERSION = 2
# Version 1 (agentdesk 0.1) has the same records, and a counter this store
# does not keep (the next task number, which follows from the tasks).
READS = (1, 2)
IMPORT_BATCH = 2000


def add_parser(sub: Any) -> None:
    export = sub.add_parser("export", help="write the whole store as JSON lines")
    export.add_argument("output", nargs="?", default="-", help="file to write (default: stdout)")
    export.set_defaults(handler=run_export)
    imp = sub.add_parser("import", help="load JSON lines written by export (checked first)")
    imp.add_argument("input", help="file to read (- for stdin)")
    imp.set_defaults(handler=run_import)
    stats = sub.add_parser("stats", help="count tasks by status and channel")
    stats.set_defaults(handler=run_stats)


# --- export -------------------------------------------------------------------


def export_lines(store: Store) -> Iterator[str]:
    """The store as JSON lines: a header, then customers, tasks, events, outbox, state."""
    yield json.dumps({"type": FORMAT, "version": VERSION})
    for customer in store.customers():
        yield _line("customer", to_builtins(customer))
    for task in store.tasks():
        # The version counts writes to this store; an imported task starts anew.
        data = to_builtins(task)
        del data["version"]
        yield _line("task", data)
    for event in store.iter_events():
        yield _line("event", to_builtins(event))
    for entry in store.outbox():
        yield _line("outbox", to_builtins(entry))
    for namespace, key, value in store.state_items():
        yield _line("state", {"namespace": namespace, "key": key, "value": value})


def _line(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "data": data}, ensure_ascii=False)


def run_export(inv: Invocation) -> int:
    store = open_store(inv.store_path, read_only=True)
    try:
        if inv.args.output == "-":
            # Spooled first: an export that fails half-way writes nothing, so a
            # pipe (export - | gzip > backup) never holds half a backup.
            with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
                _write(store, spool)
                spool.seek(0)
                shutil.copyfileobj(spool, sys.stdout)
        else:
            path = Path(inv.args.output)
            tmp = path.with_name(path.name + ".partial")
            try:
                with tmp.open("w", encoding="utf-8") as out:
                    _write(store, out)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            tmp.replace(path)
            print(f"exported to {path}", file=sys.stderr)
    finally:
        store.close()
    return 0


def _write(store: Store, out: IO[str]) -> None:
    for line in export_lines(store):
        out.write(line + "\n")


# --- import -------------------------------------------------------------------


class ImportFileError(CommandError):
    pass


_CLASSES: dict[str, type] = {
    "customer": Customer,
    "task": Task,
    "event": Event,
    "outbox": OutboxEntry,
}


def _cleaned(value: Any) -> Any:
    """Every string of an imported record cleaned as ingest cleans customer text:
    an export file is as untrusted as a channel."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _cleaned(v) for k, v in value.items()}
    return value


def parse_export(lines: IO[str], name: str) -> list[tuple[str, Any]]:
    """Every record of an export file, checked; ImportFileError names the line."""
    records: list[tuple[str, Any]] = []
    header_seen = False
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(item, dict) or "type" not in item:
            raise ImportFileError(f'{where}: expected an object with a "type"')
        kind = item["type"]
        if not header_seen:
            if kind != FORMAT:
                raise ImportFileError(f"{where}: not an agentdesk export (no header line)")
            if item.get("version") not in READS:
                raise ImportFileError(
                    f"{where}: export format version {item.get('version')!r} is not supported "
                    f"(this agentdesk reads versions {', '.join(map(str, READS))})"
                )
            header_seen = True
            continue
        data = item.get("data")
        if not isinstance(data, dict):
            raise ImportFileError(f'{where}: expected "data" to be an object')
        # Control sequences go, and an unpaired surrogate JSON may escape (which
        # the search index, and any UTF-8 file, cannot hold) becomes U+FFFD.
        data = _cleaned(data)
        try:
            if kind in _CLASSES:
                records.append((kind, from_builtins(_CLASSES[kind], data)))
            elif kind == "state":
                records.append((kind, (str(data["namespace"]), str(data["key"]), data["value"])))
            elif kind == "meta":
                continue  # version 1's task counter: numbers follow from the tasks
            else:
                known = ", ".join([*_CLASSES, "state"])
                raise ImportFileError(f"{where}: unknown record type {kind!r} (known: {known})")
        except (CodecError, KeyError, TypeError) as exc:
            raise ImportFileError(f"{where}: {kind}: {exc}") from None
    if not header_seen:
        raise ImportFileError(f"{name}: empty file")
    return records


def import_records(store: Store, records: list[tuple[str, Any]]) -> int:
    """Commit checked records in batches; returns how many were written.

    A record replaces the object of the same id: a task takes the version of
    the one it replaces, so importing twice changes nothing.
    """
    batch = Batch()
    size = 0
    with store.group() as group:
        for kind, value in records:
            if kind == "customer":
                batch.customers.append(value)
            elif kind == "task":
                held = store.get_task(value.id)
                value.version = held.version if held else 0
                batch.tasks.append(value)
            elif kind == "event":
                batch.events.append(value)
            elif kind == "outbox":
                batch.outbox_put.append(value)
            else:
                batch.state.append(value)
            size += 1
            if size % IMPORT_BATCH == 0:
                group.apply(batch)
                batch = Batch()
        if batch:
            group.apply(batch)
    return size


def run_import(inv: Invocation) -> int:
    name = inv.args.input
    try:
        if name == "-":
            records = parse_export(sys.stdin, "stdin")
        else:
            with open(name, encoding="utf-8") as lines:
                records = parse_export(lines, name)
    except OSError as exc:
        raise CommandError(f"{name}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name}: not UTF-8 text ({exc.reason})") from None
    store = open_store(inv.store_path)
    try:
        count = import_records(store, records)
    finally:
        store.close()
    print(f"imported {count} records into {inv.store_path}", file=sys.stderr)
    return 0


# --- stats --------------------------------------------------------------------


def run_stats(inv: Invocation) -> int:
    store = open_store(inv.store_path, read_only=True)
    try:
        stats = store.stats()
    finally:
        store.close()
    console = Console()
    table = Table(title=Text(f"agentdesk store {inv.store_path}"))
    table.add_column("status")
    table.add_column("tasks", justify="right")
    for status in Status:
        table.add_row(status.value, str(stats.tasks_by_status.get(status.value, 0)))
    console.print(table)
    channels = Table()
    channels.add_column("channel")
    channels.add_column("tasks", justify="right")
    for channel, count in sorted(stats.tasks_by_channel.items()):
        channels.add_row(Text(safe_line(channel, 60) or "(none)"), str(count))
    console.print(channels)
    console.print(f"{stats.customers} customers, {stats.events} events")
    return 0
