"""The index file: its tables, and opening it whatever state it was left in."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA_VERSION = 4

# A task's document in `docs` has the row id tasks.doc, derived from the
# task's last activity (see records.time_rowid), so "newest first" and date
# ranges are row id order and ranges inside FTS5. The `facets` column holds
# one token per filterable value (status, channel, tag, ...), so filters are
# FTS5 terms too and any combination is a merge of posting lists. `dirty`
# holds, for each task changed since the last refresh, its document as
# indexed (see documents.py); `lexicon` lists the indexed words (see lexicon.py).
SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE customers(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    people TEXT NOT NULL,
    search TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE VIRTUAL TABLE customer_grams USING fts5(
    search, content='customers', content_rowid='rid', tokenize='trigram'
);
CREATE TABLE task_keys(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE tasks(
    rid INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL UNIQUE,
    id TEXT NOT NULL,
    number INTEGER NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_kind TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    customer_rid INTEGER NOT NULL,
    customer_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    preview TEXT NOT NULL,
    assignee TEXT,
    last_activity REAL NOT NULL,
    waiting_since REAL,
    facets TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE INDEX tasks_customer ON tasks(customer_rid);
CREATE TABLE texts(
    rid INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    task_rid INTEGER NOT NULL,
    at REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX texts_task ON texts(task_rid, at);
CREATE TABLE lexicon(term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE dirty(
    rid INTEGER PRIMARY KEY,
    doc INTEGER,
    subject TEXT,
    body TEXT,
    people TEXT,
    facets TEXT
);
CREATE VIRTUAL TABLE docs USING fts5(
    subject, body, people, facets, content='', tokenize='unicode61 remove_diacritics 2'
);
"""

_TABLES = (
    "meta",
    "customers",
    "customer_grams",
    "task_keys",
    "tasks",
    "texts",
    "dirty",
    "lexicon",
    "docs",
)


@dataclass(slots=True)
class OpenedFile:
    db: sqlite3.Connection
    warnings: list[str] = field(default_factory=list)
    needs_rebuild: bool = False
    last_seq: int = 0


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly with BEGIN.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # The index is derived: after a power loss it catches up from the store.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def create(path: Path) -> sqlite3.Connection:
    """A new empty index at ``path`` (replacing whatever was there)."""
    remove_files(path)
    # Tables are made without a journal or syncs: a file left half made by a
    # crash lacks the "complete" mark and is made again at the next open.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    _run_script(db, SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    db.execute("INSERT INTO meta VALUES ('last_seq', 0)")
    db.execute("INSERT INTO meta VALUES ('complete', 0)")
    db.execute("INSERT INTO meta VALUES ('lexicon_rid', 0)")
    db.execute("COMMIT")
    db.close()
    return connect(path)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript would commit the open transaction; run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def open_file(path: Path) -> OpenedFile:
    """Open the index at ``path``; a missing, unreadable or outdated file is
    replaced by an empty one flagged for rebuilding, with a warning saying why."""
    if not path.exists():
        return OpenedFile(create(path), [f"search index {path} not found: created empty"], True)
    problem = None
    db = None
    try:
        db = connect(path)
        problem = _problem(db)
    except sqlite3.Error as exc:
        problem = f"cannot be read ({exc})"
    if problem is None and db is not None:
        complete = db.execute("SELECT value FROM meta WHERE key='complete'").fetchone()
        last_seq = db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        if complete and complete[0] == 1 and last_seq:
            return OpenedFile(db, [], False, int(last_seq[0]))
        problem = "was left half built"
    if db is not None:
        db.close()
    message = f"search index {path} {problem}: replaced by an empty index to rebuild"
    return OpenedFile(create(path), [message], True)


def _problem(db: sqlite3.Connection) -> str | None:
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    missing = [name for name in _TABLES if name not in names]
    if missing:
        return f"lacks table(s) {', '.join(missing)}"
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if not version or version[0] != SCHEMA_VERSION:
        return f"has schema version {version[0] if version else None}, not {SCHEMA_VERSION}"
    # Touch each full-text table so a damaged one shows now rather than mid-search.
    db.execute("SELECT rowid FROM docs WHERE docs MATCH '\"a\"' LIMIT 1").fetchall()
    db.execute("SELECT count(*) FROM texts WHERE rid IN (SELECT max(rid) FROM texts)").fetchall()
    return None
