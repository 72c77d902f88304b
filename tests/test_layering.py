"""The floors of docs/architecture.md: imports only go down.

Read from the source with ``ast`` (no import side effects): every ``import``
and ``from ... import`` of each module, relative ones resolved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "agentdesk"

# What each floor may import from agentdesk (besides itself).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "plugin": set(),
    # The query language is pure: the desk, the index and the console read it alike.
    "query": set(),
    # Routing decides from plain data: no store, no clock, no socket.
    "routing": set(),
    # The desk's messages: what a client speaks, in process or on the wire.
    "api": {"domain", "plugin", "query"},
    # The search index lives in the store's file and transactions: the store
    # writes it through search's writer, and search knows only the domain.
    "search": {"domain", "query", "api"},
    "store": {"domain", "query", "api", "search"},
    # Metrics: one fold of the store's events, for the hub's board and reports.
    "metrics": {"domain", "query", "api", "store", "search", "routing"},
    "core": {"domain", "query", "api", "store", "search", "plugin", "routing", "metrics"},
    # The console's client of a hub speaks the API, nothing of the desk.
    "remote": {"domain", "query", "api", "plugin"},
    # The console sees the desk only through its client interface.
    "tui": {"domain", "plugin", "query", "api", "core.config"},
}
BELOW_TUI = (
    "domain",
    "plugin",
    "query",
    "routing",
    "api",
    "store",
    "search",
    "metrics",
    "core",
    "remote",
)


def _imports(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append(target)
    return names


def _modules(folder: Path, prefix: str) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        found.append((path, ".".join([prefix, *parts])))
    return found


def _floor_cases() -> list[tuple[str, Path, str]]:
    cases = []
    for floor in ALLOWED:
        folder = PACKAGE / floor
        if folder.exists():
            cases.extend((floor, p, m) for p, m in _modules(folder, f"agentdesk.{floor}"))
    return cases


@pytest.mark.parametrize("floor, path, module", _floor_cases(), ids=lambda v: str(v))
def test_floor_imports_go_down(floor: str, path: Path, module: str) -> None:
    allowed = ALLOWED[floor]
    for name in _imports(path, module):
        if name.split(".")[0] == "textual":
            assert floor not in BELOW_TUI, f"{module} imports textual (only the console may)"
        if not name.startswith("agentdesk"):
            continue
        rest = name.removeprefix("agentdesk").lstrip(".")
        if not rest or rest.split(".")[0] == floor:
            continue
        assert any(rest == a or rest.startswith(a + ".") for a in allowed), (
            f"{module} imports {name}; the {floor} floor may only use {sorted(allowed)}"
        )


@pytest.mark.parametrize(
    "path, module", _modules(PACKAGE / "core" / "desk", "agentdesk.core.desk"), ids=lambda v: str(v)
)
def test_the_desk_does_not_reach_the_channel_host(path: Path, module: str) -> None:
    # The host drives the desk (registers channels, drains the outbox); the
    # desk never calls up into it, so a hub can run it with another host.
    for name in _imports(path, module):
        assert not name.startswith("agentdesk.core.host"), f"{module} imports {name}"


@pytest.mark.parametrize(
    "path, module",
    _modules(PACKAGE / "tui" / "local_docs", "agentdesk.tui.local_docs"),
    ids=lambda v: str(v),
)
def test_the_console_documents_do_not_need_textual(path: Path, module: str) -> None:
    # They are the console's, but plain: usable (and tested) without a terminal.
    for name in _imports(path, module):
        assert name.split(".")[0] != "textual", f"{module} imports {name}"


def _plugin_cases() -> list[tuple[Path, str]]:
    folder = ROOT / "plugins"
    cases = []
    for package in sorted(p for p in folder.iterdir() if (p / "__init__.py").exists()):
        cases.extend(_modules(package, package.name))
    return cases


@pytest.mark.parametrize("path, module", _plugin_cases(), ids=lambda v: str(v))
def test_first_party_plugins_use_only_the_plugin_api(path: Path, module: str) -> None:
    for name in _imports(path, module):
        if name.startswith("agentdesk.") or name == "agentdesk":
            assert name == "agentdesk.plugin" or name.startswith("agentdesk.plugin."), (
                f"{module} imports {name}; plugins may only use agentdesk.plugin"
            )
        assert name.split(".")[0] != "textual", f"{module} imports textual"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from agentdesk.core.desk import Desk\nfrom ..store import x\n")
    assert _imports(bad, "agentdesk.domain.bad") == ["agentdesk.core.desk", "agentdesk.store"]


def test_the_import_contracts_hold() -> None:
    # The contracts in pyproject.toml ([tool.importlinter]), read by import-linter
    # from the installed package: the floors, and what the desk and the console
    # may not reach.
    import shutil
    import subprocess
    import sys

    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert linter, "import-linter is a test dependency: pip install -e '.[test]'"
    run = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
