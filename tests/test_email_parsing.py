"""The email channel's pure parts: charsets, HTML, quotes, threading, loop guard, MIME, IMAP."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from agentdesk_email.attachments import safe_file_name, store_attachments
from agentdesk_email.automated import automated_reason
from agentdesk_email.charsets import decode_bytes, decode_header_value
from agentdesk_email.compose import build_message, single_line
from agentdesk_email.html_text import html_to_text
from agentdesk_email.imap_protocol import (
    Segment,
    decode_mailbox,
    encode_mailbox,
    fetch_items,
    parse_response,
    quote,
)
from agentdesk_email.parsing import ParsedPart, parse_mail
from agentdesk_email.quoting import trim_quoted
from agentdesk_email.threading_refs import (
    message_id_for,
    parse_message_ids,
    references_for,
    reply_subject,
    task_number_from_ids,
    task_number_from_subject,
    thread_root,
)

from agentdesk.plugin import Outbound, PermanentDeliveryError

# -- charsets ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("Grüße".encode(), "utf-8", "Grüße"),
        ("Grüße".encode("iso-8859-1"), "ISO-8859-1", "Grüße"),
        (b"\x93quoted\x94 \x80", "iso-8859-1", "“quoted” €"),  # labelled Latin-1, really 1252
        ("naïve".encode("cp1252"), "windows-1252", "naïve"),
        ("こんにちは".encode("iso2022_jp"), "ISO-2022-JP", "こんにちは"),
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어"),
        (b"plain", None, "plain"),
    ],
)
def test_known_charsets_decode_cleanly(data: bytes, charset: str | None, text: str) -> None:
    decoded = decode_bytes(data, charset)
    assert decoded.text == text
    assert decoded.problem is None


def test_unknown_or_wrong_charsets_decode_with_a_reason() -> None:
    unknown = decode_bytes(b"caf\xe9", "x-klingon")
    assert unknown.text == "caf\ufffd"
    assert unknown.problem == "unknown charset 'x-klingon'; decoded as UTF-8 with replacement"
    mislabelled = decode_bytes("été".encode("latin-1"), "utf-8")
    assert "\ufffd" in mislabelled.text
    assert "do not match declared charset 'utf-8'" in (mislabelled.problem or "")
    unlabelled = decode_bytes(b"\x93hi\x94", None)
    assert unlabelled.text == "“hi”"
    assert unlabelled.problem == "no charset declared; decoded as Windows-1252"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?utf-8?q?Caf=C3=A9?= =?iso-8859-1?q?_cr=E8me?=", "Café crème"),
        ("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"),
        ("Re: =?windows-1252?Q?=93quoted=94?= tail", "Re: “quoted” tail"),
        ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),  # whitespace between words dropped
        ("=?UTF-8?B?4oKs?=\r\n =?UTF-8?B?IDEw?=", "€ 10"),  # folded
        ("=?utf-8?q?a_b?= and =?utf-8?q?c?=", "a b and c"),
        ("=?utf-8*fr?q?oui?=", "oui"),  # RFC 2231 language tag
        ("no encoding at all", "no encoding at all"),
    ],
)
def test_encoded_word_headers(raw: str, text: str) -> None:
    decoded = decode_header_value(raw)
    assert decoded.text == text
    assert decoded.problem is None


def test_a_multibyte_character_split_across_encoded_words_is_joined() -> None:
    # "é" is C3 A9 in UTF-8; senders may put each byte in its own word.
    assert decode_header_value("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=").text == "café"


def test_broken_encoded_words_do_not_raise() -> None:
    decoded = decode_header_value("=?utf-8?b?broken!!?= =?x-none?q?abc?=")
    assert decoded.problem is not None
    assert "abc" in decoded.text


# -- HTML to text -------------------------------------------------------------


def test_html_becomes_readable_text() -> None:
    html = """<html><head><style>p {color: red}</style><title>t</title></head><body>
    <div style="display: none">preheader you never see</div>
    <p>Hello&nbsp;there,</p><p>My order <b>#123</b> has   not
    arrived.</p><ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>
    <a href="https://shop.test/track?id=1">track it</a> or <a href="https://x.test">https://x.test</a>
    <br>Thanks<br/>Ann
    <blockquote><p>On Monday you wrote:</p><p>quoted text</p></blockquote>
    <table><tr><td>Qty</td><td>2</td></tr></table>
    <pre>  keep
    spacing</pre><script>alert(1)</script><img src="x" alt="logo"></body></html>"""
    assert html_to_text(html) == (
        "Hello there,\n\nMy order #123 has not arrived.\n\n- one\n- two\n1. first\n2. second\n"
        "track it (https://shop.test/track?id=1) or https://x.test\nThanks\nAnn\n\n"
        "> On Monday you wrote:\n>\n> quoted text\n\nQty 2\n\n  keep\n    spacing\n\n[logo]"
    )


def test_html_converter_survives_garbage() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>x</p></div></blockquote>") == "unclosed bold x"
    assert html_to_text("") == ""
    assert html_to_text("<" * 1000 + "text").endswith("text")


# -- quoted replies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (
            "Thanks, it works.\n\nOn Mon, 3 Jun 2024, Support <s@x.test> wrote:\n> Restart.",
            "Thanks, it works.",
        ),
        (
            "Merci !\n\nLe lun. 3 juin 2024 à 10:00, Support <s@x.test> a\nécrit :\n> Non.",
            "Merci !",
        ),
        ("Danke\n\nAm 03.06.2024 um 10:00 schrieb Support:\n> Hallo", "Danke"),
        (
            "See below.\n\nFrom: Support <s@x.test>\nSent: Monday\nTo: Ann\nSubject: RE: x\n\nold",
            "See below.",
        ),
        ("Ok\n\n-----Original Message-----\nFrom: x", "Ok"),
        ("Fine\n> quoted\n> more", "Fine"),
        ("> q1?\nanswer one\n> q2?\nanswer two", "> q1?\nanswer one\n> q2?\nanswer two"),
        ("> only a quote", "> only a quote"),
        ("no quote at all\nsecond line", "no quote at all\nsecond line"),
    ],
)
def test_quoted_history_is_trimmed(body: str, kept: str) -> None:
    assert trim_quoted(body) == kept


# -- threading -----------------------------------------------------------------


def test_message_ids_are_parsed_strictly() -> None:
    assert parse_message_ids("<a@b> junk <c@d>\r\n <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert parse_message_ids("<no-at-sign> <x@y>\r\nBcc: evil@z") == ["<x@y>"]
    assert parse_message_ids(None) == []


def test_thread_root_prefers_references_then_in_reply_to() -> None:
    assert thread_root(["<root@a>", "<mid@b>"], "<mid@b>", "<me@c>") == "<root@a>"
    assert thread_root([], "<parent@b>", "<me@c>") == "<parent@b>"
    assert thread_root([], None, "<me@c>") == "<me@c>"


def test_our_message_ids_are_stable_and_carry_the_task_number() -> None:
    first = message_id_for("outbox-1", 1042, "shop.test")
    assert first == message_id_for("outbox-1", 1042, "shop.test")
    assert first != message_id_for("outbox-2", 1042, "shop.test")
    assert task_number_from_ids(["<x@y>", first], "shop.test") == 1042
    assert task_number_from_ids([first], "other.test") is None
    assert task_number_from_ids(["<ad.1.deadbeef@shop.test>"], "shop.test") is None


def test_subject_token_and_reply_subject() -> None:
    assert task_number_from_subject("Re: Re: parcel [#1042]") == 1042
    assert task_number_from_subject("no token [#] [#x]") is None
    assert reply_subject("Where is it?", 7, is_reply=True) == "Re: Where is it? [#7]"
    assert (
        reply_subject("RE: AW: Fwd: Where [#7] is it?", 7, is_reply=True) == "Re: Where is it? [#7]"
    )
    assert reply_subject("", 7, is_reply=False) == "Your request [#7]"
    assert reply_subject("Refund", 7, is_reply=False) == "Refund [#7]"


def test_references_keep_the_root_and_stay_bounded() -> None:
    chain = references_for("<root@a>", [f"<m{n}@a>" for n in range(40)], "<m39@a>")
    assert chain[0] == "<root@a>" and chain[-1] == "<m39@a>" and len(chain) == 20
    assert references_for("chat-session-9", (), None) == []  # not a Message-ID: dropped
    assert references_for(None, ("<a@b>", "<a@b>"), "<c@d>") == ["<a@b>", "<c@d>"]


# -- loop guard ----------------------------------------------------------------


def _headers(text: str) -> email.message.Message:
    return email.message_from_string(text + "\n\nbody\n")


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ("Auto-Submitted: auto-replied", "a@b.test", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: no", "a@b.test", None),
        ("Precedence: junk", "a@b.test", "Precedence: junk"),
        ("Precedence: first-class", "a@b.test", None),
        ("List-Id: <news.shop.test>", "a@b.test", "mailing list (<news.shop.test>)"),
        ("List-Id: <support.shop.test>", "a@b.test", None),  # allowed below
        ("X-Autoreply: yes", "a@b.test", "X-Autoreply header present"),
        ("Return-Path: <>", "a@b.test", "null sender (Return-Path: <>)"),
        ("Subject: hi", "MAILER-DAEMON@mx.test", "sent by mailer-daemon"),
        ("Subject: hi", "support@shop.test", "sent from this channel's own address"),
        (
            "Content-Type: multipart/report; report-type=disposition-notification",
            "a@b.test",
            "multipart/report (disposition-notification)",
        ),
    ],
)
def test_automated_mail_is_recognised(headers: str, sender: str, reason: str | None) -> None:
    found = automated_reason(
        _headers(headers), sender, own_address="support@shop.test", allowed_lists=["support.shop"]
    )
    assert found == reason


# -- MIME parsing --------------------------------------------------------------


def test_multipart_alternative_keeps_plain_text_and_html() -> None:
    message = email.message.EmailMessage()
    message["From"] = "=?utf-8?q?Jos=C3=A9?= <Jose@Example.ORG>"
    message["Subject"] = "=?utf-8?q?probl=C3=A8me?="
    message["Message-ID"] = "<abc@example.org>"
    message["Reply-To"] = "other@example.org"
    message["Date"] = "Mon, 3 Jun 2024 10:00:00 -0000"
    message.set_content("Hello\n\nOn Mon, Support wrote:\n> old")
    message.add_alternative("<p>Hello</p>", subtype="html")
    message.add_attachment(
        b"%PDF", maintype="application", subtype="pdf", filename="facture été.pdf"
    )
    parsed = parse_mail(bytes(message))
    assert (parsed.sender, parsed.sender_name, parsed.reply_to) == (
        "jose@example.org",
        "José",
        "other@example.org",
    )
    assert parsed.subject == "problème"
    assert parsed.text == "Hello"
    assert parsed.full_text.endswith("> old")
    assert parsed.html is not None and "<p>Hello</p>" in parsed.html
    assert parsed.date == 1717408800.0
    assert parsed.attachments == [ParsedPart("facture été.pdf", "application/pdf", b"%PDF", 4)]
    assert parsed.problems == []


def test_html_only_mail_gets_text_from_its_html() -> None:
    raw = (
        b"From: a@b.test\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n"
        b"<p>Caf\xe9 <b>noir</b></p>"
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Café noir"


def test_raw_8bit_headers_and_hostile_subjects_are_made_safe() -> None:
    raw = (
        "From: Zoë <zoe@b.test>\r\nSubject: Hello\x1b[31m red\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\x00 with NUL\r\n"
    ).encode()
    parsed = parse_mail(raw)
    assert parsed.sender_name == "Zoë"
    assert "\x1b" not in parsed.subject
    assert parsed.text == "body with NUL"


def test_garbage_is_parsed_without_raising() -> None:
    parsed = parse_mail(b"\xff\xfe garbage with no headers \x00")
    assert parsed.sender == ""
    assert parsed.problems  # the missing header/body separator is reported
    assert parse_mail(b"").sender == ""


def test_unusable_from_addresses_are_reported() -> None:
    parsed = parse_mail(b"From: not an address\r\n\r\nx")
    assert parsed.sender == ""
    assert any("no usable address" in problem for problem in parsed.problems)


# -- attachments -----------------------------------------------------------------


def test_attachment_names_cannot_escape_the_folder(tmp_path: Path) -> None:
    for hostile in ("../../etc/passwd", "..\\..\\boot.ini", "a/../../b", "\x00name\n"):
        name = safe_file_name(hostile)
        assert "/" not in name and "\\" not in name and name not in (".", "..")
        assert name.isprintable()
    assert safe_file_name("..") == "attachment"
    assert safe_file_name("a" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_file_name("a" * 300 + ".pdf")) == 120
    parts = [
        ParsedPart("../evil.sh", "text/x-sh", b"#!", 2),
        ParsedPart("report.pdf", "application/pdf", b"1", 1),
        ParsedPart("report.pdf", "application/pdf", b"2", 1),
        ParsedPart("big.iso", "application/octet-stream", None, 2048),
    ]
    stored = store_attachments(parts, tmp_path, "<m@x>", max_bytes=1024)
    paths = [a.path for a in stored.attachments]
    assert all(p is None or Path(p).resolve().is_relative_to(tmp_path) for p in paths)
    assert [Path(p).name for p in paths if p] == ["_evil.sh", "report.pdf", "report (2).pdf"]
    assert paths[3] is None and stored.attachments[3].size == 2048
    assert stored.notes == ["big.iso: 0.0 MB is over the 0.0 MB limit; not stored"]


# -- composing our mail ------------------------------------------------------------


def test_outgoing_headers_cannot_be_injected() -> None:
    outbound = Outbound(
        key="k",
        to="ann@customer.test",
        text="Line one\r\n.\r\nLine three",
        task_id="t",
        task_number=5,
        customer_name="Ann\r\nBcc: evil@x.test",
        subject="Hi\nBcc: evil@x.test",
        in_reply_to="<p@c.test>\r\nX-Evil: 1",
        references=("<r@c.test>",),
    )
    message = build_message(
        outbound, message_id="<ad.5.x@shop.test>", from_address="s@shop.test", from_name="S\rT"
    )
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert "Bcc" not in parsed and "X-Evil" not in parsed
    assert parsed["Subject"] == "Re: Hi Bcc: evil@x.test [#5]"
    assert parsed["To"].addresses[0].display_name == "Ann Bcc: evil@x.test"
    assert parsed["From"].addresses[0].display_name == "S T"
    assert parsed["References"] == "<r@c.test> <p@c.test>"
    assert parsed.get_content().replace("\r\n", "\n") == "Line one\n.\nLine three\n"
    for bad in ("", "a@b.test\r\nBcc: x@y", "a@b.test, c@d.test", "<a@b.test>", "nobody"):
        with pytest.raises(PermanentDeliveryError):
            build_message(
                Outbound(key="k", to=bad, text="x", task_id="t", task_number=1),
                message_id="<m@s>",
                from_address="s@shop.test",
                from_name="",
            )


def test_single_line() -> None:
    assert single_line("a\r\nb\tc\x00d", 100) == "a b c d"
    assert single_line("x" * 500, 10) == "x" * 10


# -- IMAP wire format ---------------------------------------------------------------


def test_mailbox_names_use_modified_utf7() -> None:
    assert encode_mailbox("INBOX") == b'"INBOX"'
    assert encode_mailbox("Traités") == b'"Trait&AOk-s"'
    assert encode_mailbox("A&B") == b'"A&-B"'
    assert encode_mailbox("日本語") == b'"&ZeVnLIqe-"'
    for name in ("Traités", "A&B", "日本語", "Ünïcödé/Sub"):
        assert decode_mailbox(encode_mailbox(name).decode()[1:-1]) == name
    assert quote('a "b" \\c') == b'"a \\"b\\" \\\\c"'
    with pytest.raises(ValueError):
        quote("line\r\nbreak")


def test_status_responses_and_codes() -> None:
    response = parse_response([Segment(b"* OK [UIDVALIDITY 3857529045] UIDs valid")])
    assert (response.tag, response.kind, response.code) == ("*", "OK", "UIDVALIDITY 3857529045")
    tagged = parse_response([Segment(b"A0001 NO [AUTHENTICATIONFAILED] Authentication failed.")])
    assert (tagged.tag, tagged.kind, tagged.text) == ("A0001", "NO", "Authentication failed.")
    exists = parse_response([Segment(b"* 23 EXISTS")])
    assert (exists.kind, exists.number) == ("EXISTS", 23)
    assert parse_response([Segment(b"+ idling")]).tag == "+"


def test_fetch_responses_with_literals() -> None:
    body = b'From: a@b\r\n\r\n(unbalanced ) "quotes\r\n'
    response = parse_response(
        [
            Segment(
                b"* 12 FETCH (UID 7 RFC822.SIZE 44 "
                b'INTERNALDATE "17-Jul-1996 02:44:25 -0700" BODY[]',
                body,
            ),
            Segment(b" FLAGS (\\Seen))"),
        ]
    )
    items = fetch_items(response)
    assert items["UID"] == "7"
    assert items["BODY[]"] == body
    assert items["INTERNALDATE"] == "17-Jul-1996 02:44:25 -0700"
    assert items["FLAGS"] == ["\\Seen"]
    header_only = parse_response(
        [
            Segment(b"* 1 FETCH (UID 9 BODY[HEADER.FIELDS (SUBJECT)]", b"Subject: x\r\n"),
            Segment(b")"),
        ]
    )
    assert fetch_items(header_only)["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: x\r\n"
    search = parse_response([Segment(b"* SEARCH 3 5 8")])
    assert search.data == ["3", "5", "8"]
    nil = parse_response([Segment(b'* 2 FETCH (UID 4 X NIL Y "a\\"b")')])
    assert fetch_items(nil) == {"UID": "4", "X": None, "Y": 'a"b'}


def test_attachments_over_the_cap_are_sized_without_decoding() -> None:
    message = email.message.EmailMessage()
    message["From"] = "a@b.test"
    message.set_content("see attached")
    sizes = [3000, 3001, 3002, 10]
    for n, size in enumerate(sizes):
        message.add_attachment(bytes(size), maintype="application", subtype="zip", filename=f"{n}")
    raw = bytes(message)
    capped = parse_mail(raw, max_part_bytes=100)
    assert [(p.size, p.payload is None) for p in capped.attachments] == [
        (3000, True),
        (3001, True),
        (3002, True),
        (10, False),
    ]
    whole = parse_mail(raw)
    assert [len(p.payload or b"") for p in whole.attachments] == sizes


def test_the_child_process_format_round_trips(tmp_path: Path) -> None:
    from agentdesk_email.inbound import FetchedMail, convert
    from agentdesk_email.settings import OPTIONS, build_settings
    from agentdesk_email.wire_format import (
        conversion_from_json,
        conversion_to_json,
        read_request,
        request_header,
    )

    from agentdesk.plugin import parse_options

    raw_options = {"imap_host": "h", "smtp_host": "s", "username": "me@shop.test", "password": "pw"}
    settings = build_settings(parse_options(OPTIONS, raw_options))
    message = email.message.EmailMessage()
    message["From"] = "Ann <ann@c.test>"
    message["Message-ID"] = "<x@c.test>"
    message.set_content("hi\n\nOn Monday, S wrote:\n> old")
    message.add_attachment(b"data", maintype="application", subtype="pdf", filename="a.pdf")
    fetched = FetchedMail(uid=3, raw=bytes(message), size=len(bytes(message)))
    header = request_header(fetched, settings, tmp_path)
    assert b"pw" not in header  # the child never gets the passwords
    again, child_settings, data_dir = read_request(header + fetched.raw)
    assert again == fetched and data_dir == tmp_path
    result = convert(again, child_settings, data_dir)
    assert conversion_from_json(json.loads(json.dumps(conversion_to_json(result)))) == result
    assert result.message is not None and result.message.attachments[0].name == "a.pdf"
