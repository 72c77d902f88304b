"""The query language of search: Gmail/GitHub style words, phrases and filters.

Pure: it imports nothing of agentdesk, so the desk, the search index and the
console read a query exactly alike (a console on a hub shows the same syntax
errors the hub would give). ``fold`` is the one text folding both the
queries and the index use.
"""

from .parser import parse_query
from .terms import Filter, Query, QuerySyntaxError, Sort, Term

__all__ = ["Filter", "Query", "QuerySyntaxError", "Sort", "Term", "parse_query"]
