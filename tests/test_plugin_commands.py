"""``agentdesk plugins list | info | check`` on the example plugins."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from rich.console import Console

from agentdesk.commands import plugins
from agentdesk.commands.base import CommandError
from agentdesk.core.config import ChannelConfig, Config
from agentdesk.core.host.discovery import PluginCatalog, discover

EXAMPLES = Path(__file__).parent / "plugin_examples"


@pytest.fixture(scope="module")
def catalog() -> PluginCatalog:
    return discover([EXAMPLES], entry_points=None)


def run(catalog: PluginCatalog, *argv: str, config: Config | None = None) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    plugins.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plugins", *argv])
    out = io.StringIO()
    console = Console(file=out, width=400, color_system=None)
    code = plugins.run(args, config or Config(), console=console, catalog=catalog)
    return code, out.getvalue()


def test_list_shows_every_plugin_with_its_status(catalog: PluginCatalog) -> None:
    config = Config(channels=[ChannelConfig("simulator", "sim-sms", {"kind": "sms"}, 0)])
    code, out = run(catalog, "list", config=config)
    assert code == 1  # some example plugins are broken on purpose
    simulator = next(line for line in out.splitlines() if "│ simulator" in line)
    assert "1.0" in simulator and "ok" in simulator and "sim-sms" in simulator
    assert "agentdesk_simulator" in simulator
    broken = next(line for line in out.splitlines() if "example_broken_import" in line)
    assert "error: ModuleNotFoundError" in broken


def test_info_shows_capabilities_and_options(catalog: PluginCatalog) -> None:
    code, out = run(catalog, "info", "simulator")
    assert code == 0
    assert "simulator 1.0" in out and "Realistic demo traffic" in out
    assert "identity_kind" in out and "max_text_length" in out
    kind = next(line for line in out.splitlines() if "│ kind " in line and "one of" in line)
    assert "one of email, chat, sms, social, phone" in kind and "which kind" in kind


def test_info_on_an_unknown_plugin_lists_the_installed(catalog: PluginCatalog) -> None:
    code, out = run(catalog, "info", "fax")
    assert code == 1
    assert "unknown plugin 'fax'" in out and "simulator" in out


def test_check_passes_for_a_good_plugin_and_fails_for_a_broken_one(
    catalog: PluginCatalog,
) -> None:
    code, out = run(catalog, "check", "simulator", "--option", "rate=600", "--send-to", "+331")
    assert code == 0, out
    assert "simulator passes the contract" in out
    assert out.count("✓ passed") == 9

    code, out = run(catalog, "check", "leaky", "--send-to", "visitor-1")
    assert code == 1
    failed = next(line for line in out.splitlines() if "✗ failed" in line)
    assert "leaves no task running" in failed and "_hello" in failed
    assert "leaky does not pass the contract" in out


def test_check_does_not_send_unless_asked(catalog: PluginCatalog) -> None:
    code, out = run(catalog, "check", "simulator", "--option", "kind='sms'")
    assert code == 0
    assert out.count("- skipped") == 3 and "no address to send to" in out


def test_check_uses_the_configured_options(catalog: PluginCatalog) -> None:
    config = Config(
        source="c.toml",
        channels=[ChannelConfig("simulator", "sim", {"kind": "phone", "colour": "red"}, 0)],
    )
    code, out = run(catalog, "check", "simulator", config=config)
    assert code == 1
    assert "sim.colour: unknown option" in out
    with pytest.raises(CommandError, match="no channel named 'other'"):
        run(catalog, "check", "simulator", "--channel", "other", config=config)
    with pytest.raises(CommandError, match="expected KEY=VALUE"):
        run(catalog, "check", "simulator", "--option", "rate")
