"""The WhatsApp channel's options, templates and identity kind: a malformed
value names its key, and WhatsApp numbers compare on their digits."""

from __future__ import annotations

from typing import Any

import pytest
from agentdesk_whatsapp import WhatsAppChannel
from agentdesk_whatsapp.identity import WHATSAPP
from servers.whatsapp_cloud import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN

from agentdesk.core.desk import Desk
from agentdesk.plugin import InboundMessage, PluginConfigError, ReplyTemplate
from agentdesk.plugin.testing import RecordingContext
from agentdesk.plugin.validation import declaration_problems

BASE = {
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": ACCESS_TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
}
ORDER = {
    "name": "order_update",
    "language": "en_US",
    "text": "Hello {{1}}, your order {{ 2 }} has shipped.",
    "parameters": ["customer name", "order number"],
}


def make(**change: Any) -> WhatsAppChannel:
    ctx = RecordingContext.for_channel(WhatsAppChannel, {**BASE, **change}, channel_name="wa")
    try:
        return WhatsAppChannel(ctx)
    finally:
        ctx.close()


def test_the_declaration_is_valid_and_the_defaults_are_metas() -> None:
    assert declaration_problems(WhatsAppChannel) == []
    channel = make()
    caps = channel.capabilities
    assert (caps.kind, caps.identity_kind) == ("social", "whatsapp")
    assert caps.attachments and caps.read_receipts and caps.reply_window_hours == 24
    assert caps.max_text_length == 4096 and caps.templates == ()
    settings = channel.settings
    assert settings.url("123/messages") == "https://graph.facebook.com/v21.0/123/messages"
    assert settings.max_media_bytes == 16 * 1024 * 1024
    assert channel.webhook_path == "/channels/wa/webhook"


def test_templates_become_the_channels_reply_templates() -> None:
    plain = {"name": "come_back", "language": "fr", "text": "Pouvons-nous vous aider ?"}
    channel = make(templates=[ORDER, plain])
    assert channel.capabilities.templates == (
        ReplyTemplate(
            name="order_update",
            text="Hello {{1}}, your order {{2}} has shipped.",
            language="en_US",
            parameters=("customer name", "order number"),
        ),
        ReplyTemplate(name="come_back", text="Pouvons-nous vous aider ?", language="fr"),
    )
    assert WhatsAppChannel.capabilities.templates == ()  # the class keeps none
    rendered = channel.capabilities.templates[0].render(("Ana", "4471"))
    assert rendered == "Hello Ana, your order 4471 has shipped."


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ({"phone_number_id": "+1 555 0100"}, "phone_number_id", "Phone number ID"),
        ({"access_token": "  "}, "access_token", "empty"),
        ({"app_secret": ""}, "app_secret", "empty"),
        ({"verify_token": " "}, "verify_token", "empty"),
        ({"verify_token": 42}, "verify_token", "expected text"),
        ({"api_base": "ftp://graph.facebook.com"}, "api_base", r"http\(s\) URL"),
        ({"api_base": "http://graph.facebook.com"}, "api_base", "loopback"),
        ({"api_version": "21"}, "api_version", "v21.0"),
        ({"max_media_bytes": "16MB"}, "max_media_bytes", "expected a number"),
        ({"max_media_bytes": -1}, "max_media_bytes", ">= 0"),
        ({"timeout": 60}, "timeout", "<= 25"),
        ({"colour": "green"}, "colour", "unknown option"),
        ({"templates": "order_update"}, "templates", "expected a list of tables"),
        ({"templates": [{**ORDER, "name": "Order Update"}]}, "templates", r"\[0\]\.name"),
        ({"templates": [{**ORDER, "language": "english"}]}, "templates", r"\[0\]\.language"),
        ({"templates": [{**ORDER, "text": " "}]}, "templates", r"\[0\]\.text: .* empty"),
        ({"templates": [{"language": "fr", "text": "x"}]}, "templates", r"\[0\]\.name: required"),
        ({"templates": [{**ORDER, "parameters": ["one"]}]}, "templates", r"\[0\]\.parameters"),
        ({"templates": [{**ORDER, "parameters": "x"}]}, "templates", r"\[0\]\.parameters"),
        ({"templates": [{**ORDER, "category": "UTILITY"}]}, "templates", r"\[0\]\.category"),
        (
            {"templates": [ORDER, ORDER]},
            "templates",
            r"\[1\]\.name: 'order_update' is listed twice",
        ),
        ({"templates": ["order_update"]}, "templates", r"\[0\]: expected a table"),
    ],
)
def test_a_malformed_option_names_its_key(change: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(PluginConfigError, match=rf"^wa\.{key}: .*{says}") as raised:
        make(**change)
    for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in str(raised.value)


def test_a_placeholder_without_a_label_is_named() -> None:
    text = "Hi {{1}}, {{3}} is ready"
    with pytest.raises(PluginConfigError) as raised:
        make(templates=[{**ORDER, "text": text}])
    assert str(raised.value) == (
        "wa.templates: [0].parameters: the text has {{1}}, {{3}} but 2 parameters named; "
        "name one per placeholder, numbered from {{1}}"
    )


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("33612345678", "33612345678"),
        ("+33 6 12 34 56 78", "33612345678"),
        ("+1 (415) 555-0100", "14155550100"),
        (" 44.20.7946.0958 ", "442079460958"),
    ],
)
def test_a_whatsapp_number_is_compared_on_its_digits(typed: str, normal: str) -> None:
    assert WHATSAPP.normalize(typed) == normal
    assert WHATSAPP.problem(typed) is None


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Type the customer's WhatsApp number."),
        ("0612345678", "with the country code (like +33612345678)"),
        ("ana@example.com", "is not a WhatsApp number"),
        ("+33 6 12", "is not a WhatsApp number"),
        ("1" * 40, "too long"),
    ],
)
def test_an_address_that_cannot_be_a_whatsapp_number_is_explained(typed: str, says: str) -> None:
    problem = WHATSAPP.problem(typed)
    assert problem is not None and says in problem


async def test_the_desk_reads_whatsapp_numbers_as_the_channel_declares(desk: Desk) -> None:
    from whatsapp_harness import whatsapp_desk

    whatsapp_desk(desk, make())
    first = await desk.ingest("wa", InboundMessage("33612345678", "hello"))
    again = await desk.ingest("wa", InboundMessage("+33 6 12 34 56 78", "still me"))
    assert again.customer.id == first.customer.id and again.task.id == first.task.id
    assert ("whatsapp", "33612345678") in [tuple(i) for i in first.customer.identities]
