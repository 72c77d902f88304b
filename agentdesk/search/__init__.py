"""Search: the query language and the derived full-text index.

``parse_query`` reads the Gmail/GitHub style language (docs/search.md);
``SearchIndex`` keeps an SQLite FTS5 file beside the store and answers queries.
Imports only ``agentdesk.domain`` and the store protocol.
"""

from .index import IndexBehind, SearchHit, SearchIndex, SearchPage
from .query import Filter, Query, QuerySyntaxError, Sort, Term, parse_query

__all__ = [
    "Filter",
    "IndexBehind",
    "Query",
    "QuerySyntaxError",
    "SearchHit",
    "SearchIndex",
    "SearchPage",
    "Sort",
    "Term",
    "parse_query",
]
