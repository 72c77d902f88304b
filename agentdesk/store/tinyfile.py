"""TinyDB files written one document per line.

The files are in TinyDB's JSON document format (``{"table": {"1": {...}}}``),
so stock ``tinydb.TinyDB`` opens them, but the store writes each document on
its own line. That lets it read one table without parsing the rest, keep each
document's text (a checkpoint then rewrites unchanged documents without
encoding them again), and parse documents one by one. A file that another
tool rewrote in another layout is still read, through the slow path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path

from .errors import StoreError


def write_tables(path: Path, tables: dict[str, Iterable[str]]) -> None:
    """Write ``tables`` (name -> document texts) to ``path`` and fsync it.

    Document texts are compact JSON objects; they get ids 1, 2, ... in order.
    """
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        names = list(tables)
        if not names:
            out.write("{}\n")
        for position, name in enumerate(names):
            out.write(("{" if position == 0 else "") + json.dumps(name) + ":{\n")
            body = ",\n".join(f'"{n}":{text}' for n, text in enumerate(tables[name], start=1))
            if body:
                out.write(body + "\n")
            out.write("}}\n" if position == len(names) - 1 else "},\n")
        out.flush()
        os.fsync(out.fileno())


def write_text(path: Path, text: str) -> None:
    """Write a file the caller laid out itself (see ``buckets``) and fsync it."""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


class _NotLineFormat(Exception):
    pass


def read_tables(path: Path, only: Collection[str] | None = None) -> dict[str, list[str]]:
    """The document texts of each table in ``path`` (of ``only`` these tables).

    Raises StoreError naming the file when it is not a TinyDB file.
    """
    try:
        return _read_all(path) if only is None else _read_lines(path, only)
    except _NotLineFormat:
        return _read_whole(path, only)
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path} is not a TinyDB file ({exc})") from None


_DOC = re.compile(r'^"\d+":(\{.*\}),?$', re.M)


def _headers(data: str) -> list[tuple[str, int, int]]:
    """Each table's name, and where its header line starts and ends.

    A header is the only kind of line that ends with ``":{``: documents end
    with ``}`` and JSON text holds no raw newline.
    """
    found = []
    end = data.find('":{\n')
    while end >= 0:
        start = data.rfind("\n", 0, end) + 1
        name = data[start + 1 if data.startswith("{", start) else start : end + 1]
        found.append((json.loads(name), start, end + 4))
        end = data.find('":{\n', end + 4)
    return found


def _read_all(path: Path) -> dict[str, list[str]]:
    """Every table, found with fast string searches over the whole text."""
    with open(path, "rb") as source:
        data = source.read().decode("utf-8")
    headers = _headers(data)
    if not headers or headers[0][1] != 0 or not data.startswith("{") or not data.endswith("}}\n"):
        raise _NotLineFormat
    tables: dict[str, list[str]] = {}
    for position, (name, _, start) in enumerate(headers):
        end = headers[position + 1][1] if position + 1 < len(headers) else len(data)
        docs = _DOC.findall(data, start, end)
        # Every line of the table but its closing one must be a document.
        if data.count("\n", start, end) != len(docs) + 1:
            raise _NotLineFormat
        tables[name] = docs
    return tables


def _read_lines(path: Path, only: Collection[str] | None) -> dict[str, list[str]]:
    wanted = None if only is None else set(only)
    tables: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as lines:
        first = True
        docs: list[str] | None = None
        closed = False
        for line in lines:
            line = line.rstrip("\n")
            if docs is None:
                # Expecting a table header: {"name":{  or  "name":{
                header = line[1:] if first and line.startswith("{") else line
                first = False
                if not (header.endswith(":{") and header.startswith('"')):
                    raise _NotLineFormat
                name = json.loads(header[:-2])
                docs = tables.setdefault(name, [])
                continue
            if line in ("},", "}}"):
                closed = line == "}}"
                if wanted is not None:
                    wanted.discard(name)
                    if not wanted:
                        return tables
                if closed:
                    break
                docs = None
                continue
            colon = line.find(":")
            if colon < 0 or not line.startswith('"'):
                raise _NotLineFormat
            docs.append(line[colon + 1 : -1] if line.endswith(",") else line[colon + 1 :])
        if not closed:
            raise _NotLineFormat
    if only is not None:
        return {name: docs for name, docs in tables.items() if name in only}
    return tables


def _read_whole(path: Path, only: Collection[str] | None) -> dict[str, list[str]]:
    try:
        with open(path, encoding="utf-8") as source:
            data = json.load(source)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path} is not a TinyDB file ({exc})") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a TinyDB file (no tables)")
    tables: dict[str, list[str]] = {}
    for name, docs in data.items():
        if only is not None and name not in only:
            continue
        if not isinstance(docs, dict):
            raise StoreError(f"{path} is not a TinyDB file (table {name!r} is not a mapping)")
        ordered = sorted(docs.items(), key=lambda item: int(item[0]))
        tables[name] = [json.dumps(doc, separators=(",", ":")) for _, doc in ordered]
    return tables
