"""Plugin discovery: folders and entry points, and every way a plugin can fail to load."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from agentdesk.core.host.discovery import (
    PluginCatalog,
    default_plugin_paths,
    discover,
    resolve_channel,
)
from agentdesk.plugin import PluginConfigError

EXAMPLES = Path(__file__).parent / "plugin_examples"


@pytest.fixture(scope="module")
def catalog() -> PluginCatalog:
    return discover([EXAMPLES], entry_points=None)


def report(catalog: PluginCatalog, name: str):
    found = [r for r in catalog.reports if r.name == name]
    assert found, f"no report for {name}: {[r.name for r in catalog.reports]}"
    return found[0]


def test_the_source_tree_plugins_folder_is_a_default_path(catalog: PluginCatalog) -> None:
    assert default_plugin_paths() == [Path(__file__).resolve().parents[1] / "plugins"]
    assert catalog.channels["simulator"].plugin == "simulator"
    assert report(catalog, "simulator").ok
    assert report(catalog, "simulator").version == "1.0"


def test_a_module_that_fails_to_import_is_reported_not_fatal(catalog: PluginCatalog) -> None:
    broken = report(catalog, "example_broken_import")
    assert broken.status == "error"
    assert "ModuleNotFoundError" in broken.error
    assert "agentdesk_module_that_does_not_exist" in broken.error
    assert "crash-on-start" in catalog.channels  # its neighbours loaded


def test_a_class_without_capabilities_is_reported(catalog: PluginCatalog) -> None:
    missing = report(catalog, "no-capabilities")
    assert missing.status == "error"
    assert "capabilities" in missing.error
    assert "no-capabilities" not in catalog.channels


def test_a_bad_option_declaration_is_reported(catalog: PluginCatalog) -> None:
    bad = report(catalog, "bad-option")
    assert bad.status == "error"
    assert "'port'" in bad.error and "65535" in bad.error


def test_a_module_can_list_several_channels(catalog: PluginCatalog) -> None:
    for name in ("crash-on-start", "hanging-send", "flaky-send", "malformed", "flooder"):
        assert report(catalog, name).ok
        assert report(catalog, name).origin.endswith("example_misbehaving.py")


def test_unknown_plugin_name_lists_the_installed_ones(catalog: PluginCatalog) -> None:
    with pytest.raises(PluginConfigError) as error:
        resolve_channel(catalog, "carrier-pigeon", {}, where="config.toml: channels[3]")
    message = str(error.value)
    assert message.startswith("config.toml: channels[3].plugin: unknown plugin 'carrier-pigeon'")
    assert "simulator" in message and "crash-on-start" in message


def test_a_plugin_that_failed_to_load_says_why(catalog: PluginCatalog) -> None:
    with pytest.raises(PluginConfigError, match=r"could not be loaded: .*capabilities"):
        resolve_channel(catalog, "no-capabilities", {}, where="config.toml: channels[0]")


def test_unknown_option_is_named(catalog: PluginCatalog) -> None:
    with pytest.raises(PluginConfigError) as error:
        resolve_channel(catalog, "simulator", {"colour": "blue"}, where="c.toml: channels[1]")
    assert str(error.value).startswith("c.toml: channels[1].colour: unknown option")
    assert "kind" in str(error.value)


def test_options_are_typed_and_defaulted(catalog: PluginCatalog) -> None:
    _cls, options = resolve_channel(catalog, "simulator", {"kind": "sms"}, where="c")
    assert options["kind"] == "sms" and options["seed"] == 7 and options["rate"] == 6
    with pytest.raises(PluginConfigError, match=r"c\.kind: expected one of email, chat"):
        resolve_channel(catalog, "simulator", {"kind": "fax"}, where="c")


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    catalog = discover([tmp_path / "nowhere"], entry_points=None, default_paths=False)
    assert catalog.reports[0].status == "error"
    assert catalog.reports[0].error == "no such folder"


def test_module_name_clash_is_reported(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise SystemExit('should never run')\n")
    catalog = discover([tmp_path], entry_points=None, default_paths=False)
    assert catalog.reports[0].status == "error"
    assert "already imported" in catalog.reports[0].error


def test_a_module_raising_systemexit_is_contained(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "example_exits_on_import.py").write_text("raise SystemExit(3)\n")
    monkeypatch.delitem(sys.modules, "example_exits_on_import", raising=False)
    catalog = discover([tmp_path], entry_points=None, default_paths=False)
    assert catalog.reports[0].error == "SystemExit: 3"
    assert "example_exits_on_import" not in sys.modules


def _dist(site: Path, dist: str, version: str, entry_points: str) -> None:
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_entry_points_load_and_fail_cleanly(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "ep_demo_channels.py").write_text(
        textwrap.dedent(
            """
            from agentdesk.plugin import Capabilities, Channel

            class Pager(Channel):
                plugin = "pager"
                capabilities = Capabilities(kind="sms", identity_kind="phone")

            class Misnamed(Channel):
                plugin = "something-else"
                capabilities = Capabilities(kind="sms", identity_kind="phone")
            """
        )
    )
    _dist(
        site,
        "ep_demo",
        "2.5",
        """
        [agentdesk.channels]
        pager = ep_demo_channels:Pager
        misnamed = ep_demo_channels:Misnamed
        gone = ep_demo_missing_module:Gone
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    for name in ("ep_demo_channels",):
        monkeypatch.delitem(sys.modules, name, raising=False)
    catalog = discover(default_paths=False)
    pager = report(catalog, "pager")
    assert pager.ok and pager.version == "2.5" and "ep_demo 2.5" in pager.origin
    assert catalog.channels["pager"].__name__ == "Pager"
    assert "'something-else'" in report(catalog, "misnamed").error
    assert "ModuleNotFoundError" in report(catalog, "gone").error


def test_the_same_class_from_an_entry_point_and_its_folder_loads_once(
    tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "ep_twice_channel.py").write_text(
        "from agentdesk.plugin import Capabilities, Channel\n\n"
        "class Twice(Channel):\n"
        "    plugin = 'twice'\n"
        "    capabilities = Capabilities(kind='chat', identity_kind='chat')\n"
    )
    _dist(
        tmp_path / "site", "twice", "1.0", "[agentdesk.channels]\ntwice = ep_twice_channel:Twice\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "ep_twice_channel", raising=False)
    catalog = discover([folder], default_paths=False)
    assert [r.status for r in catalog.reports if r.name == "twice"] == ["ok"]


def test_two_plugins_with_one_name_keep_the_first(tmp_path: Path, monkeypatch) -> None:
    for module in ("example_dup_a", "example_dup_b"):
        (tmp_path / f"{module}.py").write_text(
            "from agentdesk.plugin import Capabilities, Channel\n\n"
            "class Dup(Channel):\n"
            "    plugin = 'dup'\n"
            "    capabilities = Capabilities(kind='chat', identity_kind='chat')\n"
        )
        monkeypatch.delitem(sys.modules, module, raising=False)
    catalog = discover([tmp_path], entry_points=None, default_paths=False)
    statuses = [(r.status, r.origin.rsplit("/", 1)[-1]) for r in catalog.reports]
    assert statuses == [("ok", "example_dup_a.py"), ("error", "example_dup_b.py")]
    assert "already loaded from path" in catalog.reports[1].error
