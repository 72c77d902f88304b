"""The matrix channel's readings that need no homeserver: room events as the
spec and older clients write them, and the homeserver's refusals as typed errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agentdesk_matrix.events import DELETED, ENCRYPTED, read_event, strip_reply_fallback
from agentdesk_matrix.failures import MatrixError, delivery_error

from agentdesk.plugin import PermanentDeliveryError, TemporaryDeliveryError

ANA = "@ana:example.org"


def event(content: dict[str, Any], kind: str = "m.room.message", **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "$e1",
        "sender": ANA,
        "origin_server_ts": 1_767_000_000_000,
        "content": content,
        **more,
    }


def test_a_text_message() -> None:
    said = read_event(event({"msgtype": "m.text", "body": "hello"}))
    assert said is not None
    assert (said.event_id, said.sender, said.text, said.at) == ("$e1", ANA, "hello", 1_767_000_000)
    assert said.thread_ref is None and said.media is None and said.attributes == {}


def test_what_is_no_message_is_nothing() -> None:
    assert read_event(event({}, "m.reaction")) is None
    assert read_event(event({"membership": "join"}, "m.room.member")) is None
    assert read_event(event({})) is None  # a message already redacted has no body
    assert read_event({"type": "m.room.message", "content": {"body": "x"}}) is None


def test_deletions_in_old_and_new_rooms() -> None:
    old = read_event(event({}, "m.room.redaction", redacts="$gone"))
    new = read_event(event({"redacts": "$gone"}, "m.room.redaction"))  # room version 11
    for said in (old, new):
        assert said is not None
        assert (said.text, said.thread_ref, said.attributes) == (
            DELETED,
            "$gone",
            {"redacts": "$gone"},
        )
    assert read_event(event({}, "m.room.redaction")) is None


def test_an_edit_without_new_content_uses_its_fallback() -> None:
    said = read_event(
        event(
            {
                "msgtype": "m.text",
                "body": "* green",
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"},
            }
        )
    )
    assert said is not None and said.text == "✎ edited: green"
    assert said.attributes == {"edit_of": "$orig"}


def test_an_encrypted_event_says_it_cannot_be_read() -> None:
    said = read_event(event({"algorithm": "m.megolm.v1.aes-sha2"}, "m.room.encrypted"))
    assert said is not None and said.text == ENCRYPTED


def test_a_file_with_a_caption() -> None:
    said = read_event(
        event(
            {
                "msgtype": "m.image",
                "body": "the scratch on the left",
                "filename": "sofa.jpg",
                "url": "mxc://example.org/AbC_12-x",
                "info": {"mimetype": "image/jpeg", "size": 2048},
            }
        )
    )
    assert said is not None and said.media is not None
    assert said.text == "the scratch on the left"
    assert (said.media.server, said.media.media_id, said.media.name) == (
        "example.org",
        "AbC_12-x",
        "sofa.jpg",
    )
    assert (said.media.content_type, said.media.size) == ("image/jpeg", 2048)


def test_a_file_with_a_link_that_is_not_mxc_is_said_not_fetched() -> None:
    said = read_event(event({"msgtype": "m.file", "body": "a.pdf", "url": "https://evil/a.pdf"}))
    assert said is not None and said.media is None
    assert said.text == "(a file the desk cannot fetch, without a link: a.pdf)"


def test_the_quote_of_a_reply_is_dropped() -> None:
    assert strip_reply_fallback("> <@bob:x> earlier\n> more\n\nmy answer") == "my answer"
    assert strip_reply_fallback("> a quote I typed\nmine") == "> a quote I typed\nmine"
    assert strip_reply_fallback("> <@bob:x> only a quote") == "> <@bob:x> only a quote"


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_refusals_are_read_with_their_wait() -> None:
    limited = MatrixError.of(answer(429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}))
    assert (limited.errcode, limited.retry_after, limited.temporary) == (
        "M_LIMIT_EXCEEDED",
        2.5,
        True,
    )
    assert (
        MatrixError.of(
            answer(429, {"errcode": "M_LIMIT_EXCEEDED"}, **{"Retry-After": "7"})
        ).retry_after
        == 7
    )
    broken = MatrixError.of(httpx.Response(502, text="<html>bad gateway</html>"))
    assert (broken.status, broken.errcode, broken.temporary) == (502, "", True)


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (MatrixError(0, "", "connection refused"), TemporaryDeliveryError, "cannot be reached"),
        (MatrixError(429, "M_LIMIT_EXCEEDED", "", 3.0), TemporaryDeliveryError, "retried in 3 s"),
        (MatrixError(503, "", "down"), TemporaryDeliveryError, "is retried"),
        (MatrixError(401, "M_UNKNOWN_TOKEN", "bad"), TemporaryDeliveryError, "access token"),
        (MatrixError(403, "M_FORBIDDEN", "not in room"), PermanentDeliveryError, "new direct room"),
        (MatrixError(413, "M_TOO_LARGE", ""), PermanentDeliveryError, "too large"),
        (MatrixError(400, "M_BAD_JSON", "oops"), PermanentDeliveryError, "M_BAD_JSON: oops"),
    ],
)
def test_refusals_become_typed_errors_with_a_sentence(
    error: MatrixError, kind: type[Exception], words: str
) -> None:
    typed = delivery_error(error, "the reply to @ana:example.org")
    assert type(typed) is kind
    assert words in str(typed) and "the reply to @ana:example.org" in str(typed)
