"""The store's schema: SQL migrations applied in order, each recorded once.

Migrations are the files ``migrations/NNN_name.sql`` shipped with the
package. A store records the number of the last one it has; opening applies
the ones after it, each in its own transaction, and refuses a store that
records one this version does not know (it was written by a newer agentdesk).
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from .errors import StoreVersionError

MIGRATION_KEY = "migration"


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration shipped, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(script: str) -> list[str]:
    """The statements of an SQL file (comment lines dropped; no ';' in literals)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def current(db: sqlite3.Connection) -> int:
    """The number of the last migration the store at ``db`` has (0 for a new file)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not exists:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = ?", (MIGRATION_KEY,)).fetchone()
    return int(row[0]) if row else 0


def upgrade(db: sqlite3.Connection, where: str) -> list[str]:
    """Apply the missing migrations; return the names of those applied."""
    shipped = migrations()
    have = current(db)
    newest = shipped[-1][0] if shipped else 0
    if have > newest:
        raise StoreVersionError(
            f"the store at {where} was written by a newer agentdesk (schema {have}, this"
            f" version knows up to {newest}): upgrade agentdesk, or `agentdesk export` with"
            " the newer version and `agentdesk import` with this one"
        )
    applied = []
    for number, name, script in shipped:
        if number <= have:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(script):
                db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (MIGRATION_KEY, number)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
