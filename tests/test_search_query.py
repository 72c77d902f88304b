"""The query language: what each piece of syntax parses to, and every bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from agentdesk.query.parser import (
    MAX_QUERY_CHARS,
    MAX_QUERY_ITEMS,
    Filter,
    QuerySyntaxError,
    Sort,
    parse_query,
)


def words(text: str) -> list[list[str]]:
    return [[term.text for term in group] for group in parse_query(text).groups]


def test_free_words_must_all_match_and_fold_accents_and_case() -> None:
    query = parse_query("Reçu ÉLODIE")
    assert [[t.tokens for t in g] for g in query.groups] == [[("recu",)], [("elodie",)]]
    assert query.effective_sort == Sort.RELEVANCE


def test_phrase_keeps_its_words_together() -> None:
    (group,) = parse_query('"mot de passe"').groups
    assert group[0].phrase and group[0].tokens == ("mot", "de", "passe")


def test_prefix_on_a_word_and_on_a_phrase() -> None:
    query = parse_query('refun* "mot de pas"*')
    assert [term.prefix for group in query.groups for term in group] == [True, True]
    assert query.groups[0][0].text == "refun"


def test_minus_excludes_a_word_or_a_phrase() -> None:
    query = parse_query('refund -spam -"out of office"')
    assert words('refund -spam -"out of office"') == [["refund"]]
    assert [term.text for term in query.excluded] == ["spam", "out of office"]


def test_or_binds_neighbours_into_one_group() -> None:
    assert words("colis OR parcel livraison") == [["colis", "parcel"], ["livraison"]]
    assert words("a OR b OR c") == [["a", "b", "c"]]


def test_and_is_accepted_and_changes_nothing() -> None:
    assert words("colis AND livraison") == [["colis"], ["livraison"]]


def test_lowercase_or_and_are_plain_words() -> None:
    assert words("this or that and more") == [["this"], ["or"], ["that"], ["and"], ["more"]]


def test_hyphenated_word_is_a_phrase_not_an_exclusion() -> None:
    (group,) = parse_query("e-mail").groups
    assert group[0].tokens == ("e", "mail")
    assert not parse_query("e-mail").excluded


def test_punctuation_only_terms_are_dropped() -> None:
    query = parse_query('refund !!! - * "" ( )')
    assert words('refund !!! - * "" ( )') == [["refund"]]
    assert not query.excluded


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("status:open", "status", "open"),
        ("STATUS:Pending", "status", "pending"),
        ("channel:Email", "channel", "email"),
        ("customer:Élodie", "customer", "elodie"),
        ("from:0612", "customer", "0612"),
        ('from:"+33 6 12"', "customer", "+33 6 12"),
        ("assignee:me", "assignee", "me"),
        ("assignee:none", "assignee", "none"),
        ("assignee:Zoé", "assignee", "zoe"),
        ("team:Billing", "team", "billing"),
        ("tag:VIP", "tag", "vip"),
        ("priority:urgent", "priority", "urgent"),
        ("is:unread", "unread", "unread"),
        ("is:waiting", "waiting", "waiting"),
        ("is:closed", "status", "closed"),
        ("#1042", "number", "1042"),
    ],
)
def test_filters(text: str, key: str, value: str) -> None:
    (item,) = parse_query(text).filters
    assert (item.key, item.value, item.negated) == (key, value, False)


def test_is_read_is_not_unread() -> None:
    (item,) = parse_query("is:read").filters
    assert item == Filter("unread", "unread", True, 0)


def test_repeated_filter_and_or_between_same_filters() -> None:
    query = parse_query("status:open status:pending")
    assert [f.value for f in query.positive("status")] == ["open", "pending"]
    query = parse_query("status:open OR status:pending")
    assert [f.value for f in query.positive("status")] == ["open", "pending"]


def test_negated_filter() -> None:
    query = parse_query("-tag:spam -#12")
    assert [(f.key, f.value) for f in query.negative("tag")] == [("tag", "spam")]
    assert query.negative("number")[0].value == "12"


def test_dates_absolute_and_relative() -> None:
    before, after = parse_query("before:2024-05-01 after:7d").filters
    assert before.day == dt.date(2024, 5, 1)
    assert before.threshold(0) == dt.datetime(2024, 5, 1).timestamp()
    assert after.threshold(1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert parse_query("after:24h").filters[0].age == 86400
    assert parse_query("after:2w").filters[0].age == 14 * 86400


def test_sort_and_default_sort() -> None:
    assert parse_query("refund").effective_sort == Sort.RELEVANCE
    assert parse_query("status:open").effective_sort == Sort.NEWEST
    assert parse_query("").effective_sort == Sort.NEWEST
    assert parse_query("refund sort:oldest").effective_sort == Sort.OLDEST
    assert parse_query("sort:waiting").sort == Sort.WAITING


def test_empty_and_blank_queries_match_everything() -> None:
    for text in ("", "   ", "\t\n", " " * 10_000):
        query = parse_query(text)
        assert query.is_empty and query.effective_sort == Sort.NEWEST


def test_words_followed_by_a_colon_stay_words() -> None:
    assert words("Re: refund") == [["Re:"], ["refund"]]
    assert words("https://example.com/a") == [["https://example.com/a"]]
    assert words("10:30") == [["10:30"]]


def test_known_channels_make_an_unknown_channel_an_error() -> None:
    assert parse_query("channel:sms", known_channels=["sms", "web-chat"]).filters
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("refund channel:fax", known_channels=["sms", "web-chat"])
    assert caught.value.position == 7
    assert "sms or web-chat" in str(caught.value)


def test_fts_syntax_is_never_passed_through() -> None:
    query = parse_query('NEAR(a b) ^start "col:umn"* a+b "x""y" {c d}:e')
    assert all(term.fts().startswith('"') for group in query.groups for term in group), (
        "every term reaches FTS5 as a quoted string"
    )
    assert query.groups[0][0].fts() == '"NEAR(a"'


def test_phrase_with_embedded_quote_is_escaped() -> None:
    (group,) = parse_query('"say ""hi"""').groups[:1]
    # The lexer ends a phrase at the next quote; whatever it holds is quoted for FTS5.
    assert group[0].fts().count('"') % 2 == 0


# --- errors -----------------------------------------------------------------------


def error(text: str, **kwargs: object) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_unbalanced_quote_points_at_the_quote() -> None:
    err = error('refund "not received')
    assert err.position == 7
    assert str(err) == 'unbalanced quote at 7: expected a closing "'
    assert error('from:"Jean').position == 5


def test_unknown_filter_lists_the_known_ones() -> None:
    err = error("refund foo:bar")
    assert err.position == 7
    for key in ("status:", "channel:", "from:", "assignee:", "tag:", "before:", "is:"):
        assert key in str(err)


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("status:", 0, "expected a value"),
        ("status:done", 0, "expected open, pending or closed"),
        ("priority:max", 0, "expected low, normal, high or urgent"),
        ("is:big", 0, "expected unread, read"),
        ("after:yesterday", 0, "expected YYYY-MM-DD or an age"),
        ("before:2024-13-01", 0, "expected YYYY-MM-DD"),
        ("sort:best", 0, "expected relevance, newest, oldest or waiting"),
        ("x -sort:newest", 2, "cannot be negated"),
        ("OR refund", 0, "before it"),
        ("refund OR", 7, "after it"),
        ("a OR OR b", 2, "after it"),
        ("a AND", 2, "after it"),
        ("a OR -b", 5, "without '-'"),
        ("a OR status:open", 5, "joins different kinds"),
        ("status:open OR tag:x", 15, "joins different kinds"),
    ],
)
def test_syntax_errors(text: str, position: int, expected: str) -> None:
    err = error(text)
    assert err.position == position
    assert expected in str(err)


def test_ten_thousand_characters_are_refused_at_the_bound() -> None:
    err = error("refund " * 1500)
    assert err.position == MAX_QUERY_CHARS
    assert "too long" in str(err)


def test_too_many_terms_are_refused() -> None:
    err = error("a " * (MAX_QUERY_ITEMS + 1))
    assert "too many terms" in str(err)
    assert parse_query("a " * MAX_QUERY_ITEMS).groups
