"""Snippets: the best matching message of a task, cut around the matched words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .fold import fold, token_spans
from .terms import Term

Segments = list[tuple[str, bool]]

SNIPPET_CHARS = 160
_LEAD = 40  # characters shown before the first matched word
_SPACE = re.compile(r"\s+")


def term_ranges(spans: Sequence[tuple[int, int, str]], term: Term) -> list[tuple[int, int]]:
    """Character ranges where ``term`` (a word, phrase or prefix) occurs."""
    wanted = term.tokens
    n = len(wanted)
    found = []
    for i in range(len(spans) - n + 1):
        if any(spans[i + j][2] != wanted[j] for j in range(n - 1)):
            continue
        last = spans[i + n - 1][2]
        if last == wanted[-1] or (term.prefix and last.startswith(wanted[-1])):
            found.append((spans[i][0], spans[i + n - 1][1]))
    return found


def _matches(text: str, terms: Sequence[Term]) -> tuple[int, list[tuple[int, int]]]:
    """(number of terms found, their ranges) in ``text``."""
    folded = fold(text)
    # Cheap test first: most messages of a task contain none of the words.
    if not any(term.tokens[-1] in folded for term in terms):
        return 0, []
    spans = token_spans(text)
    count, ranges = 0, []
    for term in terms:
        found = term_ranges(spans, term)
        if found:
            count += 1
            ranges.extend(found)
    return count, ranges


def best_snippet(texts: Iterable[str], terms: Sequence[Term], fallback: str) -> Segments:
    """The snippet of the text (newest first) matching most terms; ``fallback`` unmarked if none."""
    best: tuple[int, str, list[tuple[int, int]]] | None = None
    if terms:
        for text in texts:
            count, ranges = _matches(text, terms)
            if count and (best is None or count > best[0]):
                best = (count, text, ranges)
                if count == len(terms):
                    break
    if best is None:
        return [(_squash(fallback)[:SNIPPET_CHARS], False)] if fallback else []
    return cut(best[1], best[2])


def cut(text: str, ranges: list[tuple[int, int]]) -> Segments:
    """``text`` around its first matched range, as segments (True = matched)."""
    ranges = _merge(sorted(ranges))
    start = max(0, ranges[0][0] - _LEAD)
    if start > 0:
        space = text.find(" ", start, ranges[0][0])
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", max(start, ranges[0][1]), end)
        end = space if space > 0 else end
    segments: Segments = []
    position = start
    for begin, finish in ranges:
        if begin >= end:
            break
        begin, finish = max(begin, position), min(finish, end)
        if begin > position:
            segments.append((text[position:begin], False))
        if finish > begin:
            segments.append((text[begin:finish], True))
        position = max(position, finish)
    if position < end:
        segments.append((text[position:end], False))
    if start > 0:
        segments.insert(0, ("…", False))
    if end < len(text):
        segments.append(("…", False))
    merged: Segments = []
    for part, marked in segments:
        if merged and merged[-1][1] == marked:
            merged[-1] = (merged[-1][0] + part, marked)
        elif part:
            merged.append((part, marked))
    return [(_squash(part), marked) for part, marked in merged]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for begin, end in ranges:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text)
