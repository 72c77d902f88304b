"""Configuration: defaults, checked types, named keys, ${ENV} secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agentdesk.core.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_documents_every_key():
    config = load_config(EXAMPLE)
    assert config.agent == "agent"
    assert config.http.port == 8765
    text = EXAMPLE.read_text()
    for key in (
        "agent",
        "team",
        "store",
        "state",
        "theme",
        "reopen_window_days",
        "default_priority",
        "plugin_paths",
        "agents",
        "teams",
        "[http]",
        "[hub]",
        "cafile",
        "certfile",
        "keyfile",
        "away_after_minutes",
        "[supervision]",
        "[business_hours]",
        "[sla]",
        "[keymap]",
        "[canned]",
        "[[channels]]",
        "restart_cap_seconds",
        "send_timeout_seconds",
        "inbound_queue_size",
        "public_url",
    ):
        assert key in text, f"config.example.toml does not mention {key}"


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config.source == "defaults" and config.channels == []


def test_the_console_documents_default_to_the_user_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert parse_config({}).state == tmp_path / "state" / "agentdesk"


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_malformed_toml_names_the_file(tmp_path):
    path = _write(tmp_path, 'agent = "ana\n')
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("agent = 3", "agent: expected text, got 3"),
        ("reopen_window_days = 'ten'", "reopen_window_days: expected a number, got 'ten'"),
        ("[http]\nport = 99999", "http.port: expected a number from 0 to 65535, got 99999"),
        ("[http]\nhots = 'x'", "http.hots: unknown setting"),
        ("colour = 'red'", "colour: unknown setting"),
        ("default_priority = 'extreme'", "default_priority: expected one of low, normal"),
        ("[[channels]]\nname = 'x'", r"channels\[0\].plugin: missing"),
        ("[[channels]]\nplugin = 'email'\nname = 'Support FR'", r"channels\[0\].name: expected"),
        (
            "[[channels]]\nplugin = 'a'\n[[channels]]\nplugin = 'a'",
            r"channels\[1\].name: another channel is already named 'a'",
        ),
        ("[[channels]]\nplugin = 'a'\nenabled = 'yes'", r"channels\[0\].enabled: expected true"),
        ("[keymap]\nreply = 1", "keymap.reply: expected text"),
    ],
)
def test_wrong_values_name_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_env_secrets_substituted_and_missing_ones_named(tmp_path):
    text = "[[channels]]\nplugin = 'email'\npassword = '${MAIL_PW}'\nuser = 'u-${MAIL_USER}'\n"
    path = _write(tmp_path, text)
    config = load_config(path, env={"MAIL_PW": "s3cret", "MAIL_USER": "ana"})
    assert config.channels[0].options == {"password": "s3cret", "user": "u-ana"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"MAIL_USER": "ana"})
    assert "channels[0].password: environment variable MAIL_PW is not set" in str(info.value)


def test_relative_paths_are_relative_to_the_file(tmp_path):
    path = _write(
        tmp_path, "store = 'data/store'\nstate = 'data/state'\nplugin_paths = ['my-plugins']\n"
    )
    config = load_config(path)
    assert config.store == tmp_path / "data" / "store"
    assert config.state == tmp_path / "data" / "state"
    assert config.plugin_paths == [tmp_path / "my-plugins"]


def test_channel_options_keep_their_toml_types():
    data = tomllib.loads("[[channels]]\nplugin='sim'\nrate=4\nkinds=['sms']\nfast=true\n")
    [channel] = parse_config(data).channels
    assert channel.options == {"rate": 4, "kinds": ["sms"], "fast": True}
    assert channel.name == "sim" and channel.enabled


def test_the_hub_table_reads_its_paths_beside_the_file_and_defers_a_missing_token(tmp_path):
    source = str(tmp_path / "config.toml")
    table = {"url": "wss://desk:8765", "token": "${AGENTDESK_T}", "cafile": "ca.pem"}
    config = parse_config({"hub": table}, source=source, env={})
    assert config.hub.url == "wss://desk:8765" and config.hub.cafile == tmp_path / "ca.pem"
    # Only a console needs the token: the config still loads, and says why it is missing.
    assert config.hub.token is None
    assert config.hub.token_problem == (
        f"{source}: hub.token: environment variable AGENTDESK_T is not set"
    )
    given = parse_config({"hub": table}, source=source, env={"AGENTDESK_T": "adk_x"})
    assert given.hub.token == "adk_x" and given.hub.token_problem is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "http://desk"}, "hub.url: expected a ws:// or wss:// address, got 'http://desk'"),
        ({"certfile": "c.pem"}, "hub.keyfile: certfile and keyfile go together"),
        ({"token_problem": "x"}, "hub.token_problem: unknown setting"),
        ({"url": 5}, "hub.url"),
        ({"away_after_minutes": -1}, "hub.away_after_minutes"),
    ],
)
def test_a_bad_hub_table_names_the_key_and_the_file(table, message):
    with pytest.raises(ConfigError) as error:
        parse_config({"hub": table}, source="team.toml", env={})
    assert str(error.value).startswith("team.toml: ") and message in str(error.value)
