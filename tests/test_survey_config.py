"""``[surveys]``: read as written, and every mistake named by its key."""

from __future__ import annotations

import pytest

from agentdesk.core.config import ConfigError, parse_config


def test_the_defaults_and_a_language_of_ones_own():
    config = parse_config(
        {
            "surveys": {
                "ask": "ces",
                "delay": "2m",
                "language": "de",
                "texts": {"de": {"ces": "Es war einfach (#{number})."}},
            }
        }
    ).surveys
    assert config.ask == ("ces",) and config.delay == 120 and config.enabled
    words = config.words("de-AT")
    assert words["ces"] == "Es war einfach (#{number})."
    assert words["reply"].startswith("Reply with a number")  # completed from English
    assert config.words("fr")["csat"].startswith("Êtes-vous satisfait")
    assert config.words("pt") == config.texts["de"]  # the default language
    assert not parse_config({}).surveys.enabled


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"ask": ["csat", "nps"]}, "surveys.ask[1]: 'nps' is not a survey"),
        ({"ask": 5}, "surveys.ask: expected a list of text"),
        ({"delay": "soon"}, "surveys.delay: 'soon' is not a duration"),
        ({"customer_days": -1}, "surveys.customer_days: expected a number >= 0"),
        ({"language": "it"}, "surveys.language: no texts for 'it'"),
        ({"texts": {"fr": {"bye": "Au revoir"}}}, "surveys.texts.fr.bye: unknown text"),
        ({"texts": {"fr": {"csat": 3}}}, "surveys.texts.fr.csat: expected text"),
        ({"when": "closed"}, "surveys.when: unknown setting"),
    ],
)
def test_a_mistake_names_its_key_and_file(table, named):
    with pytest.raises(ConfigError) as caught:
        parse_config({"surveys": table}, source="team.toml")
    assert str(caught.value).startswith("team.toml: ") and named in str(caught.value)
