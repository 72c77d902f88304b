"""Search: the query language, its planner over SQLite FTS5, and a plain scan.

``parse_query`` reads the Gmail/GitHub style language (docs/search.md). The
SQLite store keeps the word index in its own file and transactions
(``fts_writer``) and answers queries through ``reader``; ``scan`` answers
them by reading every task, for stores without an index. Imports only
``agentdesk.domain``.
"""

from agentdesk.api import SearchHit, SearchPage
from agentdesk.query import Filter, Query, QuerySyntaxError, Sort, Term, parse_query

__all__ = [
    "Filter",
    "Query",
    "QuerySyntaxError",
    "SearchHit",
    "SearchPage",
    "Sort",
    "Term",
    "parse_query",
]
