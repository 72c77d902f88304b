"""The query language answered by reading every task: the rules as written.

A store without a word index (``MemoryStore``) searches with this, and the
tests hold the index to it: whatever FTS5 finds, this finds too. It follows
docs/search.md to the letter and cares nothing for speed. Snippets here are
the task's preview.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from agentdesk.api import SearchPage
from agentdesk.domain import Customer, Event, Task
from agentdesk.query.terms import Filter, Query, Sort, Term

from .pager import COUNT_CAP, STRONG, WEAK
from .reader import MAX_PAGE, hit_of
from .records import event_text, last_activity
from .snippet import preview

# What a scan needs of a store: a task's customer and events.
CustomerOf = Callable[[Task], Customer]
EventsOf = Callable[[Task], list[Event]]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words_of(text: str) -> list[str]:
    return [fold(w) for w in re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text))]


def term_in(term: Term, parts: list[list[str]]) -> bool:
    """Whether ``term`` (a word, a prefix or a phrase) is in one of ``parts``."""
    n = len(term.tokens)
    for tokens in parts:
        for i in range(len(tokens) - n + 1):
            head = tokens[i : i + n - 1]
            last = tokens[i + n - 1]
            if head == list(term.tokens[:-1]) and (
                last == term.tokens[-1] or (term.prefix and last.startswith(term.tokens[-1]))
            ):
                return True
    return False


def phone_forms(value: str) -> list[str]:
    digits = re.sub(r"\D", "", value)
    forms = [digits] if digits else []
    if value.startswith("+"):
        forms += ["0" + digits[k:] for k in (1, 2, 3) if len(digits) > k + 1]
    return forms


def customer_matches(fragment: str, customer: Customer) -> bool:
    lines = [fold(customer.name)] + [fold(i.value) for i in customer.identities]
    lines += [
        form for i in customer.identities if i.kind == "phone" for form in phone_forms(i.value)
    ]
    wanted = [fragment]
    if re.fullmatch(r"[\d\s+().\-/]*\d[\d\s+().\-/]*", fragment):
        wanted.append(re.sub(r"\D", "", fragment))
    return any(w in line for w in wanted for line in lines)


def passes(item: Filter, task: Task, customer: Customer, me: str | None, now: float) -> bool:
    """Whether ``task`` passes the filter ``item`` (its negation aside)."""
    value = item.value
    key = item.key
    if key in ("status", "priority"):
        return str(getattr(task, key)) == value
    if key == "number":
        return task.number == int(value)
    if key == "channel":
        return value in (fold(task.channel), fold(task.channel_kind))
    if key == "assignee":
        if value == "me":
            value = fold(me or "")
        return fold(task.assignee or "") == ("" if value == "none" else value)
    if key == "team":
        return fold(task.team or "") == ("" if value == "none" else value)
    if key == "tag":
        return value in {fold(t) for t in task.tags}
    if key == "unread":
        return task.unread
    if key == "waiting":
        return task.waiting_since is not None
    if key == "before":
        return last_activity(task) < item.threshold(now)
    if key == "after":
        return last_activity(task) >= item.threshold(now)
    if key == "customer":
        return customer_matches(value, customer)
    if item.field:
        return value in fold(customer.attributes.get(item.field, ""))
    raise AssertionError(key)


def strong_parts(task: Task, customer: Customer) -> list[list[str]]:
    """The subject and the customer's name and identities, as lists of words."""
    parts = [words_of(task.subject), words_of(customer.name)]
    return parts + [words_of(i.value) for i in customer.identities]


def text_parts(events: Iterable[Event]) -> list[list[str]]:
    # The same searchable text as the word index's (whispers have none).
    return [words_of(text) for event in events if (text := event_text(event))]


def matches(query: Query, task: Task, customer: Customer, parts: list[list[str]], me, now) -> bool:
    if not all(any(term_in(t, parts) for t in group) for group in query.groups):
        return False
    if any(term_in(t, parts) for t in query.excluded):
        return False
    for filters in query.by_key.values():
        positive = [f for f in filters if not f.negated]
        if positive and not any(passes(f, task, customer, me, now) for f in positive):
            return False
        if any(passes(f, task, customer, me, now) for f in filters if f.negated):
            return False
    return True


def scan(
    tasks: Iterable[Task],
    query: Query,
    *,
    customer_of: CustomerOf,
    events_of: EventsOf,
    me: str | None,
    now: float,
    limit: int = 50,
    offset: int = 0,
) -> SearchPage:
    """One page of the tasks matching ``query``, in the query's order."""
    found: list[tuple[Task, Customer, float]] = []
    terms = [term for group in query.groups for term in group]
    for task in tasks:
        customer = customer_of(task)
        strong = strong_parts(task, customer)
        if matches(query, task, customer, strong + text_parts(events_of(task)), me, now):
            score = 0.0
            if terms:
                score = STRONG if any(term_in(t, strong) for t in terms) else WEAK
            found.append((task, customer, score))
    sort = query.effective_sort
    if sort == Sort.RELEVANCE and not terms:
        sort = Sort.NEWEST
    found.sort(key=lambda hit: -last_activity(hit[0]))
    if sort == Sort.OLDEST:
        found.reverse()
    elif sort == Sort.RELEVANCE:
        found.sort(key=lambda hit: -hit[2])
    elif sort == Sort.WAITING:
        found.sort(key=lambda hit: (hit[0].waiting_since is None, hit[0].waiting_since or 0))
    limit, offset = max(0, min(limit, MAX_PAGE)), max(0, offset)
    page = found[offset : offset + limit]
    end = offset + len(page)
    hits = [
        hit_of(task, customer.display_name, preview(task.preview), score)
        for task, customer, score in page
    ]
    total = min(len(found), COUNT_CAP)
    return SearchPage(
        hits, total, offset, end if end < len(found) else None, len(found) <= COUNT_CAP
    )
