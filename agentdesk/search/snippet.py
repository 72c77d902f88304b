"""Snippets: each hit's best matching message, cut around the matched words.

The best message of a task is the one containing the most query terms, the
newest among equals; the subject stands in when no message has any, and the
task's preview, unmarked, when not even the subject has (a match on the
customer's name, or a query without words). SQLite shortlists, in C, the few
messages of each task of the page that may hold the most terms (an accent-
and case-blind LIKE per term, which may say yes wrongly but never no); a
regex per term then confirms and marks whole words in those few.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from agentdesk.api import Segments
from agentdesk.query.fold import fold, like_pattern, starts_a_word, words_pattern
from agentdesk.query.terms import Term

SNIPPET_CHARS = 160
_LEAD = 40  # characters shown before the first matched word
SHORTLIST = 2  # messages per task checked exactly
_NEWEST = 3  # messages per task looked at first


def preview(text: str) -> Segments:
    """An unmarked one-line snippet, for hits without matched words."""
    text = " ".join(text.split())
    return [(text[:SNIPPET_CHARS], False)] if text else []


def cut(text: str, ranges: list[tuple[int, int]]) -> Segments:
    """``text`` around its first matched range, as segments (True = matched)."""
    ranges = _merge(sorted(ranges))
    start = max(0, ranges[0][0] - _LEAD)
    if start > 0:
        space = text.find(" ", start, ranges[0][0])
        start = space + 1 if space >= 0 else start
    end = min(len(text), max(start + SNIPPET_CHARS, ranges[0][1]))
    if end < len(text):
        space = text.rfind(" ", ranges[0][1], end)
        end = space if space > 0 else end
    # One line: line breaks and tabs become spaces, offsets unchanged.
    window = text[start:end].replace("\n", " ").replace("\t", " ").replace("\r", " ")
    segments: Segments = [("…", False)] if start > 0 else []
    position = 0
    for begin, finish in ranges:
        begin, finish = begin - start, min(finish, end) - start
        if begin >= len(window):
            break
        if begin > position:
            segments.append((window[position:begin], False))
        segments.append((window[begin:finish], True))
        position = finish
    if position < len(window):
        segments.append((window[position:], False))
    if end < len(text):
        segments.append(("…", False))
    merged: Segments = []
    for part, marked in segments:
        if merged and merged[-1][1] == marked:
            merged[-1] = (merged[-1][0] + part, marked)
        elif part:
            merged.append((part, marked))
    return merged


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for begin, end in ranges:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


class Snippets:
    """Makes the snippets of one page of hits from the index's texts."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def for_tasks(
        self, tasks: Sequence[tuple[int, str, str]], terms: Sequence[Term]
    ) -> dict[int, Segments]:
        """Snippets by task row id for ``(task rid, subject, preview)``."""
        if not terms or not tasks:
            return {rid: preview(fallback) for rid, _, fallback in tasks}
        unique = list({(t.tokens, t.prefix): t for t in terms}.values())
        finder = _Finder(unique)
        shortlist = self._shortlist(tasks, unique)
        result: dict[int, Segments] = {}
        for rid, subject, fallback in tasks:
            best: tuple[int, str, list[tuple[int, int]]] | None = None
            options = shortlist.get(rid, [])
            for i, (_, text) in enumerate(options):
                count, ranges = finder.find(text)
                if count and (best is None or count > best[0]):
                    best = (count, text, ranges)
                # Texts further down may hold no more terms than their bound.
                if best and (i + 1 == len(options) or best[0] >= options[i + 1][0]):
                    break
            if best is None and subject:
                count, ranges = finder.find(subject)
                if count:
                    best = (count, subject, ranges)
            result[rid] = cut(best[1], best[2]) if best else preview(fallback)
        return result

    def _shortlist(
        self, tasks: Sequence[tuple[int, str, str]], terms: Sequence[Term]
    ) -> dict[int, list[tuple[int, str]]]:
        """For each task, (bound, text) of the texts likely to hold the most terms,
        best first; the bound is the number of terms a text may hold at most.

        The newest few texts of each task first; all of them only for the
        tasks where none of those may hold every term.
        """
        likes = [like_pattern(term.tokens[-1]) for term in terms]
        bound = " + ".join(["(text LIKE ?)"] * len(likes))
        rids = json.dumps([rid for rid, _, _ in tasks])
        found = self.db.execute(
            f"SELECT t.task_rid, {bound} AS bound, t.at, t.rid FROM json_each(?) j"
            " JOIN texts t ON t.rid IN (SELECT rid FROM texts"
            "  WHERE task_rid = j.value ORDER BY at DESC LIMIT ?)"
            " WHERE bound > 0",
            [*likes, rids, _NEWEST],
        ).fetchall()
        complete = {task for task, hits, _, _ in found if hits == len(likes)}
        rest = [rid for rid, _, _ in tasks if rid not in complete]
        if rest:
            marks = ",".join("?" * len(rest))
            found += self.db.execute(
                f"SELECT task_rid, {bound} AS bound, at, rid FROM texts"
                f" WHERE task_rid IN ({marks}) AND bound > 0",
                [*likes, *rest],
            ).fetchall()
        found = sorted(set(found), key=lambda row: row[1:], reverse=True)
        chosen: dict[int, list[tuple[int, int]]] = {}
        for task, hits, _, rid in found:
            picked = chosen.setdefault(task, [])
            if len(picked) < SHORTLIST:
                picked.append((hits, rid))
        if not chosen:
            return {}
        texts = dict(
            self.db.execute(
                "SELECT t.rid, t.text FROM texts t JOIN json_each(?) s ON t.rid = s.value",
                (json.dumps([rid for picked in chosen.values() for _, rid in picked]),),
            )
        )
        return {
            task: [(hits, texts[rid]) for hits, rid in picked] for task, picked in chosen.items()
        }


class _Finder:
    """Finds the query's terms, as whole words, in a text."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self.plain = [words_pattern(t.tokens, prefix=t.prefix, folded=True) for t in terms]
        self.loose = [words_pattern(t.tokens, prefix=t.prefix) for t in terms]

    def find(self, text: str) -> tuple[int, list[tuple[int, int]]]:
        """(number of terms found, their character ranges)."""
        folded = fold(text)
        # Folding composed text keeps one character per character: look for
        # the words in the folded copy with the plain, fast patterns.
        if len(folded) == len(text):
            found = [
                [m.span() for m in p.finditer(folded) if starts_a_word(folded, m.start())]
                for p in self.plain
            ]
        else:
            found = [[m.span() for m in p.finditer(text)] for p in self.loose]
        return sum(1 for spans in found if spans), [span for spans in found for span in spans]
