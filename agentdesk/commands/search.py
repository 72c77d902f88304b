"""``agentdesk search`` and ``agentdesk reindex``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from agentdesk.search import QuerySyntaxError, SearchHit, SearchIndex

from .base import CommandError, Invocation, index_path, open_store


def add_parser(sub: Any) -> None:
    search = sub.add_parser("search", help="search tasks (docs/search.md has the syntax)")
    search.add_argument("query", nargs="+", help="words and filters, e.g. from:0612 refund")
    search.add_argument("--limit", type=int, default=20, help="at most this many tasks")
    search.add_argument("--json", action="store_true", help="print JSON lines for scripts")
    search.set_defaults(handler=run_search)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the store")
    reindex.add_argument("--check", action="store_true", help="only compare index and store")
    reindex.set_defaults(handler=run_reindex)


def _open(inv: Invocation) -> tuple[Any, SearchIndex]:
    store = open_store(inv.store_path)
    index = SearchIndex.open(index_path(inv.store_path))
    for warning in index.warnings:
        print(f"agentdesk: {warning}", file=sys.stderr)
    return store, index


def hit_json(hit: SearchHit) -> str:
    return json.dumps(
        {
            "task": hit.number,
            "task_id": hit.task_id,
            "status": hit.status,
            "channel": hit.channel,
            "channel_kind": hit.channel_kind,
            "customer": hit.customer_name,
            "customer_id": hit.customer_id,
            "subject": hit.subject,
            "assignee": hit.assignee,
            "last_activity": hit.last_activity,
            "snippet": "".join(text for text, _ in hit.snippet),
            "matches": [text for text, marked in hit.snippet if marked],
            "score": hit.score,
        },
        ensure_ascii=False,
    )


def snippet_text(hit: SearchHit) -> Text:
    """The snippet with matched words highlighted; customer text is never markup."""
    text = Text()
    for part, marked in hit.snippet:
        text.append(part, style="bold reverse" if marked else "")
    return text


def run_search(inv: Invocation) -> int:
    if inv.args.limit < 1:
        raise CommandError("--limit must be at least 1")
    query = " ".join(inv.args.query)
    store, index = _open(inv)
    try:
        if index.needs_rebuild or index.last_seq != store.seq:
            index.catch_up(store)
        try:
            page = index.search(query, me=inv.config.agent, limit=inv.args.limit)
        except QuerySyntaxError as exc:
            raise CommandError(f"search: {exc}") from None
    finally:
        index.close()
        store.close()
    if inv.args.json:
        for hit in page.hits:
            print(hit_json(hit))
        return 0
    console = Console()
    total = f"{page.total:,}{'' if page.total_exact else '+'}"
    table = Table(title=f"{total} tasks match {query!r}", title_justify="left")
    for column in ("task", "status", "channel", "customer", "last activity", "snippet"):
        table.add_column(column, overflow="fold")
    for hit in page.hits:
        when = datetime.fromtimestamp(hit.last_activity).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            Text(f"#{hit.number}"),
            Text(hit.status),
            Text(hit.channel),
            Text(hit.customer_name),
            Text(when),
            snippet_text(hit),
        )
    console.print(table)
    if page.next_offset is not None:
        more = f"{page.total - len(page.hits):,}{'' if page.total_exact else '+'}"
        console.print(f"… {more} more; use --limit to see them")
    return 0


def run_reindex(inv: Invocation) -> int:
    store, index = _open(inv)
    console = Console(stderr=True)
    try:
        if inv.args.check:
            problems = index.check(store)
            for problem in problems:
                console.print(Text(f"✗ {problem}"))
            if not problems:
                console.print("✓ the search index matches the store")
            return 1 if problems else 0
        with Progress(
            TextColumn("reindexing"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            bar = progress.add_task("reindex", total=None)

            def report(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            index.rebuild(store, progress=report)
        console.print(f"✓ indexed the store up to batch {index.last_seq}")
        return 0
    finally:
        index.close()
        store.close()
