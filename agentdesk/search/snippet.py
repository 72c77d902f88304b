"""Snippets: each hit's best matching message, cut around the matched words.

The best message of a task is the one that seems to contain the most query
terms, the newest among equals; the subject stands in when no message has
any. SQLite shortlists, in C, the few messages of each task that may hold the
most terms (an accent- and case-blind LIKE per term); those go into a small
in-memory FTS5 table with the index's own tokenizer, which confirms the
match and marks the words exactly as the engine matched them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from .fold import like_pattern
from .terms import Term

Segments = list[tuple[str, bool]]

# Markers FTS5 puts around matched words: control characters that stored text
# never contains (the domain strips them).
_OPEN, _CLOSE = "\x02", "\x03"
SNIPPET_TOKENS = 24
PREVIEW_CHARS = 160
_SPACE = re.compile(r"\s+")
_MARKERS = re.compile(f"([{_OPEN}{_CLOSE}])")
SHORTLIST = 2  # messages per task checked exactly

_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS snippet_rows("
    "rid INTEGER PRIMARY KEY, text TEXT, task INTEGER, n INTEGER)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.snippet_texts USING fts5("
    "text, content='snippet_rows', content_rowid='rid',"
    " tokenize='unicode61 remove_diacritics 2')",
)


def preview(text: str) -> Segments:
    """An unmarked one-line snippet, for hits without matched words."""
    text = _SPACE.sub(" ", text).strip()
    return [(text[:PREVIEW_CHARS], False)] if text else []


def parse_marked(text: str) -> Segments:
    """Split FTS5 snippet() output into (text, matched) segments."""
    segments: Segments = []
    marked = False
    for part in _MARKERS.split(_SPACE.sub(" ", text)):
        if part == _OPEN:
            marked = True
        elif part == _CLOSE:
            marked = False
        elif part:
            if segments and segments[-1][1] == marked:
                segments[-1] = (segments[-1][0] + part, marked)
            else:
                segments.append((part, marked))
    return segments


class Snippets:
    """Makes the snippets of one page of hits on the index's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._ready = False

    def for_tasks(
        self, tasks: Sequence[tuple[int, str, str]], terms: Sequence[Term]
    ) -> dict[int, Segments]:
        """Snippets by task row id for ``(task rid, subject, preview)``."""
        result = {rid: preview(fallback) for rid, _, fallback in tasks}
        if not terms or not tasks:
            return result
        self._load(tasks, terms)
        expression = " OR ".join(dict.fromkeys(term.fts() for term in terms))
        # The first shortlisted text of each task that really matches.
        chosen: dict[int, tuple[int, int]] = {}
        for rowid, task, n in self.db.execute(
            "SELECT s.rowid, r.task, r.n FROM temp.snippet_texts s"
            " JOIN temp.snippet_rows r ON r.rid = s.rowid WHERE snippet_texts MATCH ?",
            (expression,),
        ):
            if task not in chosen or n < chosen[task][0]:
                chosen[task] = (n, rowid)
        if not chosen:
            return result
        task_of = {rowid: task for task, (_, rowid) in chosen.items()}
        marks = ",".join("?" * len(task_of))
        for rowid, text in self.db.execute(
            f"SELECT rowid, snippet(snippet_texts, 0, char(2), char(3), '…', {SNIPPET_TOKENS})"
            f" FROM temp.snippet_texts WHERE snippet_texts MATCH ? AND rowid IN ({marks})",
            [expression, *task_of],
        ):
            result[task_of[rowid]] = parse_marked(text)
        return result

    def _load(self, tasks: Sequence[tuple[int, str, str]], terms: Sequence[Term]) -> None:
        db = self.db
        if not self._ready:
            for statement in _CREATE:
                db.execute(statement)
            self._ready = True
        db.execute("DELETE FROM temp.snippet_rows")
        db.execute("INSERT INTO temp.snippet_texts(snippet_texts) VALUES ('delete-all')")
        likes = list(dict.fromkeys(like_pattern(term.tokens[-1]) for term in terms))
        bound = " + ".join(["(text LIKE ?)"] * len(likes))
        rids = [rid for rid, _, _ in tasks]
        marks = ",".join("?" * len(rids))
        db.execute(
            "INSERT INTO temp.snippet_rows(rid, text, task, n)"
            " SELECT rid, text, task_rid, n FROM ("
            "  SELECT *, row_number() OVER ("
            "   PARTITION BY task_rid ORDER BY bound DESC, at DESC, rid DESC) AS n"
            f"  FROM (SELECT rid, task_rid, text, at, {bound} AS bound"
            f"   FROM main.texts WHERE task_rid IN ({marks}))"
            "  WHERE bound > 0)"
            " WHERE n <= ?",
            [*likes, *rids, SHORTLIST],
        )
        # Subjects last, with row ids no message has.
        db.executemany(
            "INSERT INTO temp.snippet_rows(rid, text, task, n) VALUES (?,?,?,?)",
            [(-rid, subject, rid, SHORTLIST + 1) for rid, subject, _ in tasks if subject],
        )
        db.execute("INSERT INTO temp.snippet_texts(snippet_texts) VALUES ('rebuild')")
