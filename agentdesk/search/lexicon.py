"""The words of the index, to turn a prefix into the words it stands for.

FTS5 answers ``rembours*`` by merging, in memory, the whole posting lists of
every word that starts with ``rembours`` before it can return one row: tens
of milliseconds for a common stem over a million messages. The same query
written as ``rembourse OR remboursement OR rembourser`` is walked lazily and
stops after a page. FTS5's own vocabulary table counts every posting as it
lists words, so the index keeps its own list of words: fed, at each refresh,
with the words of the texts added since (tokenized by FTS5 itself in a small
in-memory table) in the transaction that writes them, and never pruned (a
word no document holds any more only adds an empty branch to the OR).

Most words of a new text were fed before. A word never spans white space
(always a separator for FTS5), so the writer remembers the white-space
separated pieces it fed and feeds only the pieces it has not seen: the same
words for a fraction of the tokenizing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

# A prefix standing for more words than this is left to FTS5 as it is.
MAX_EXPANSION = 64

# Pieces remembered as fed, at most (then forgotten all at once).
MAX_SEEN = 100_000

_FEED = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.lexicon_feed USING fts5("
    "text, content='', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.lexicon_feed_words"
    " USING fts5vocab(temp, lexicon_feed, 'row')",
)


def feed(db: sqlite3.Connection, texts: Iterable[str]) -> None:
    """Add the words of ``texts`` to the lexicon."""
    texts = list(texts)
    if not texts:
        return
    for statement in _FEED:
        db.execute(statement)
    db.executemany("INSERT INTO temp.lexicon_feed(text) VALUES (?)", ((t,) for t in texts))
    db.execute("INSERT OR IGNORE INTO lexicon(term) SELECT term FROM temp.lexicon_feed_words")
    db.execute("INSERT INTO temp.lexicon_feed(lexicon_feed) VALUES ('delete-all')")


def unseen(texts: Iterable[str], seen: set[str]) -> list[str]:
    """The white-space separated pieces of ``texts`` not in ``seen``, which
    takes them: feeding these feeds every word of ``texts`` not fed before."""
    if len(seen) > MAX_SEEN:
        seen.clear()
    fresh = set(" ".join(texts).split()).difference(seen)
    seen |= fresh
    return [" ".join(fresh)] if fresh else []


def feed_everything(db: sqlite3.Connection) -> None:
    """Fill the lexicon from the whole word index (after a rebuild)."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.doc_words USING fts5vocab(main, docs, 'col')"
    )
    db.execute(
        "INSERT OR IGNORE INTO lexicon(term) SELECT term FROM temp.doc_words WHERE col != 'facets'"
    )


def expand(db: sqlite3.Connection, prefix: str) -> list[str] | None:
    """The words starting with ``prefix``, or None when there are too many."""
    words = [
        term
        for (term,) in db.execute(
            "SELECT term FROM lexicon WHERE term >= ? AND term < ? LIMIT ?",
            (prefix, prefix + "\U0010ffff", MAX_EXPANSION + 1),
        )
    ]
    return None if len(words) > MAX_EXPANSION else words
