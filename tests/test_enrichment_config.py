"""``[[enrichers]]`` and ``[enrichment]``: parsed, defaulted, and every mistake named."""

from __future__ import annotations

import pytest

from agentdesk.core.config import ConfigError, parse_config
from agentdesk.core.enrichment_config import EnrichmentConfig


def parse(data: dict, env: dict[str, str] | None = None):
    return parse_config(data, source="/etc/agentdesk/config.toml", env=env or {})


def test_nothing_configured_means_no_enricher_and_the_defaults() -> None:
    config = parse({})
    assert config.enrichers == []
    assert config.enrichment == EnrichmentConfig(ttl=86400.0, timeout=5.0, prefetch=10)


def test_desk_keys_and_plugin_options_are_told_apart() -> None:
    config = parse(
        {
            "enrichers": [
                {"plugin": "hubspot", "name": "crm", "token": "${HS}", "portal_id": 7},
                {"plugin": "http-json", "url": "https://bo.example/{email}"},
            ],
            "enrichment": {"ttl": "4h", "timeout": 2.5, "prefetch": 3},
        },
        env={"HS": "pat-secret"},
    )
    first, second = config.enrichers
    assert (first.plugin, first.name, first.index) == ("hubspot", "crm", 0)
    assert first.options == {"token": "pat-secret", "portal_id": 7}
    assert (second.name, second.options) == ("http-json", {"url": "https://bo.example/{email}"})
    assert config.enrichment == EnrichmentConfig(ttl=4 * 3600.0, timeout=2.5, prefetch=3)
    assert parse({"enrichment": {"ttl": 600}}).enrichment.ttl == 600


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"enrichers": {"plugin": "hubspot"}}, "enrichers", "array of tables"),
        ({"enrichers": [{"name": "crm"}]}, "enrichers[0].plugin", "missing"),
        ({"enrichers": [{"plugin": 3}]}, "enrichers[0].plugin", "expected text"),
        (
            {"enrichers": [{"plugin": "hubspot", "name": "My CRM"}]},
            "enrichers[0].name",
            "lowercase",
        ),
        (
            {"enrichers": [{"plugin": "hubspot"}, {"plugin": "hubspot"}]},
            "enrichers[1].name",
            "already named 'hubspot'",
        ),
        ({"enrichers": [{"plugin": "hubspot", "token": "${NOPE}"}]}, "enrichers[0].token", "NOPE"),
        ({"enrichment": {"ttl": "soon"}}, "enrichment.ttl", "not a duration"),
        ({"enrichment": {"ttl": 0}}, "enrichment.ttl", "longer than nothing"),
        ({"enrichment": {"timeout": 0}}, "enrichment.timeout", "from 0 to 60"),
        ({"enrichment": {"timeout": "5s"}}, "enrichment.timeout", "expected a number"),
        ({"enrichment": {"prefetch": -1}}, "enrichment.prefetch", "from 0 to 200"),
        ({"enrichment": {"prefetch": 2.5}}, "enrichment.prefetch", "whole number"),
        ({"enrichment": {"ttl_days": 1}}, "enrichment.ttl_days", "unknown setting"),
        ({"enrichment": "fast"}, "enrichment", "expected a table"),
    ],
)
def test_a_mistake_names_the_file_and_the_key(data: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    message = str(caught.value)
    assert message.startswith(f"/etc/agentdesk/config.toml: {key}: "), message
    assert words in message


def test_a_missing_variable_never_shows_the_other_values() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"enrichers": [{"plugin": "hubspot", "token": "pat-${NOPE}-visible"}]})
    assert "pat-" not in str(caught.value)
