"""``agentdesk search`` and ``agentdesk reindex``."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentdesk.domain.text import safe_fragment, safe_line
from agentdesk.search import QuerySyntaxError, SearchHit, parse_query

from .base import CommandError, Invocation, open_store

if TYPE_CHECKING:
    from rich.text import Text

# rich is imported where a table is printed: `search --json` starts sooner.


def add_parser(sub: Any) -> None:
    search = sub.add_parser("search", help="search tasks (docs/search.md has the syntax)")
    search.add_argument("query", nargs="+", help="words and filters, e.g. from:0612 refund")
    search.add_argument("--limit", type=int, default=20, help="at most this many tasks")
    search.add_argument("--json", action="store_true", help="print JSON lines for scripts")
    search.set_defaults(handler=run_search)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the store")
    reindex.add_argument("--check", action="store_true", help="only check the index")
    reindex.set_defaults(handler=run_reindex)


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
    from rich.text import Text

    text = Text()
    for part, marked in hit.snippet:
        text.append(safe_fragment(part), style="bold reverse" if marked else "")
    return text


def run_search(inv: Invocation) -> int:
    if inv.args.limit < 1:
        raise CommandError("--limit must be at least 1")
    query = " ".join(inv.args.query)
    try:
        parsed = parse_query(query)
    except QuerySyntaxError as exc:
        raise CommandError(f"search: {exc}") from None
    # Read-only: no lock, so it also searches the store of a running console.
    store = open_store(inv.store_path, read_only=True)
    try:
        page = store.search(parsed, me=inv.config.agent, now=time.time(), limit=inv.args.limit)
    finally:
        store.close()
    if inv.args.json:
        for hit in page.hits:
            print(hit_json(hit))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    total = f"{page.total:,}{'' if page.total_exact else '+'}"
    table = Table(title=f"{total} tasks match {query!r}", title_justify="left")
    for column in ("task", "status", "channel", "customer", "last activity", "snippet"):
        table.add_column(column, overflow="fold")
    for hit in page.hits:
        when = datetime.fromtimestamp(hit.last_activity).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            Text(f"#{hit.number}"),
            Text(safe_line(hit.status, 12)),
            Text(safe_line(hit.channel, 40)),
            Text(safe_line(hit.customer_name, 60)),
            Text(when),
            snippet_text(hit),
        )
    console.print(table)
    if page.next_offset is not None:
        more = f"{page.total - len(page.hits):,}{'' if page.total_exact else '+'}"
        console.print(f"… {more} more; use --limit to see them")
    return 0


def run_reindex(inv: Invocation) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    console = Console(stderr=True)
    if inv.args.check:
        store = open_store(inv.store_path, read_only=True)
        try:
            problems = store.integrity_check()
        finally:
            store.close()
        for problem in problems:
            console.print(Text(f"✗ {problem}"))
        if not problems:
            console.print("✓ the store and its search index pass their checks")
        return 1 if problems else 0
    store = open_store(inv.store_path)
    try:
        with Progress(
            TextColumn("reindexing"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            bar = progress.add_task("reindex", total=None)

            def report(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            count = store.reindex(progress=report)
        console.print(f"✓ indexed {count:,} tasks")
        return 0
    finally:
        store.close()
