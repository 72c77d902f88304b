"""Finding plugins: entry points, and folders named in the config.

Plugins come from two places:

- the entry-point groups ``agentdesk.channels`` and ``agentdesk.enrichers``
  (``simulator = "agentdesk_simulator:SimulatorChannel"``): the entry point's
  name must equal the class's ``plugin``;
- plugin folders (``plugin_paths`` in the config, plus the source tree's
  ``plugins/`` folder when it exists). Each ``*.py`` module and each package
  in a folder is imported; it declares its plugins with ``CHANNELS = [...]``
  and ``ENRICHERS = [...]`` lists, or else by defining ``Channel`` and
  ``Enricher`` subclasses that set ``plugin``.

Loading is wrapped: an import error, a class without ``plugin`` or
``capabilities``, a bad option declaration becomes a ``PluginLoadReport``
with status "error", and the other plugins load as usual.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.machinery import PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

import agentdesk
from agentdesk.plugin import Channel, Enricher, Option, PluginConfigError, parse_options
from agentdesk.plugin.validation import declaration_problems

log = logging.getLogger(__name__)

CHANNEL_GROUP = "agentdesk.channels"
ENRICHER_GROUP = "agentdesk.enrichers"


@dataclass(frozen=True, slots=True)
class PluginLoadReport:
    """How loading one plugin went."""

    name: str
    kind: str  # "channel" or "enricher"
    origin: str  # "entry point (dist 1.0)" or "path /some/folder/module.py"
    version: str = ""
    status: str = "ok"  # or "error"
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(slots=True)
class PluginCatalog:
    """Every plugin found, and a report for each attempt to load one."""

    channels: dict[str, type[Channel]] = field(default_factory=dict)
    enrichers: dict[str, type[Enricher]] = field(default_factory=dict)
    reports: list[PluginLoadReport] = field(default_factory=list)

    def report_for(self, name: str, kind: str = "channel") -> PluginLoadReport | None:
        """The report of the plugin that serves ``name`` (or the last failed attempt)."""
        found = [r for r in self.reports if r.name == name and r.kind == kind]
        good = [r for r in found if r.ok]
        candidates = good or found
        return candidates[0] if candidates else None

    def channel_class(self, name: str, *, where: str = "channels") -> type[Channel]:
        """The channel class named ``name``; PluginConfigError saying what is installed."""
        cls = self.channels.get(name)
        if cls is not None:
            return cls
        report = self.report_for(name)
        if report is not None and report.error:
            raise PluginConfigError(
                f"{where}.plugin: plugin {name!r} could not be loaded: {report.error}"
            )
        installed = ", ".join(sorted(self.channels)) or "none"
        raise PluginConfigError(
            f"{where}.plugin: unknown plugin {name!r} (installed channel plugins: {installed})"
        )

    def enricher_class(self, name: str, *, where: str = "enrichers") -> type[Enricher]:
        """The enricher class named ``name``; PluginConfigError saying what is installed."""
        cls = self.enrichers.get(name)
        if cls is not None:
            return cls
        report = self.report_for(name, "enricher")
        if report is not None and report.error:
            raise PluginConfigError(
                f"{where}.plugin: plugin {name!r} could not be loaded: {report.error}"
            )
        installed = ", ".join(sorted(self.enrichers)) or "none"
        raise PluginConfigError(
            f"{where}.plugin: unknown plugin {name!r} (installed enricher plugins: {installed})"
        )


def default_plugin_paths() -> list[Path]:
    """The source tree's ``plugins/`` folder, when agentdesk runs from a checkout."""
    folder = Path(agentdesk.__file__).resolve().parent.parent / "plugins"
    return [folder] if folder.is_dir() else []


def resolve_channel(
    catalog: PluginCatalog, plugin: str, raw_options: Mapping[str, Any], *, where: str
) -> tuple[type[Channel], dict[str, Any]]:
    """The class serving ``plugin`` and the typed options; PluginConfigError otherwise."""
    cls = catalog.channel_class(plugin, where=where)
    return cls, parse_options(cls.options, raw_options, where=where)


def resolve_enricher(
    catalog: PluginCatalog, plugin: str, raw_options: Mapping[str, Any], *, where: str
) -> tuple[type[Enricher], dict[str, Any]]:
    """The enricher class serving ``plugin`` and the typed options; PluginConfigError otherwise."""
    cls = catalog.enricher_class(plugin, where=where)
    return cls, parse_options(cls.options, raw_options, where=where)


EntryPointSource = Callable[[str], Iterable[importlib.metadata.EntryPoint]]


def _installed_entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=group)


def discover(
    plugin_paths: Sequence[Path] = (),
    *,
    entry_points: EntryPointSource | None = _installed_entry_points,
    default_paths: bool = True,
) -> PluginCatalog:
    """Load every plugin from entry points and folders; never raises for a broken plugin.

    Entry points come first, so an installed plugin wins over a folder copy of
    the same name. Pass ``entry_points=None`` to skip them.
    """
    catalog = PluginCatalog()
    if entry_points is not None:
        for group, kind in ((CHANNEL_GROUP, "channel"), (ENRICHER_GROUP, "enricher")):
            for point in _unique(entry_points(group)):
                _load_entry_point(catalog, point, kind)
    folders = list(plugin_paths) + (default_plugin_paths() if default_paths else [])
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder).expanduser().resolve()
        if folder not in seen:
            seen.add(folder)
            _load_folder(catalog, folder)
    return catalog


def _unique(points: Iterable[importlib.metadata.EntryPoint]) -> list[importlib.metadata.EntryPoint]:
    # The same distribution can be visible twice (an editable install and a build).
    unique: dict[tuple[str, str], importlib.metadata.EntryPoint] = {}
    for point in points:
        unique.setdefault((point.name, point.value), point)
    return list(unique.values())


def _load_entry_point(
    catalog: PluginCatalog, point: importlib.metadata.EntryPoint, kind: str
) -> None:
    dist = getattr(point, "dist", None)
    dist_version = dist.version if dist is not None else ""
    origin = f"entry point {point.value}" + (f" ({dist.name} {dist_version})" if dist else "")
    try:
        obj = point.load()
    except (Exception, SystemExit) as exc:
        catalog.reports.append(
            PluginLoadReport(point.name, kind, origin, dist_version, "error", _describe(exc))
        )
        return
    declared = getattr(obj, "plugin", None)
    if isinstance(declared, str) and declared and declared != point.name:
        error = f"the entry point is named {point.name!r} but the class says plugin = {declared!r}"
        catalog.reports.append(
            PluginLoadReport(point.name, kind, origin, dist_version, "error", error)
        )
        return
    _register(catalog, obj, kind, origin, dist_version, name=point.name)


def _load_folder(catalog: PluginCatalog, folder: Path) -> None:
    if not folder.is_dir():
        catalog.reports.append(
            PluginLoadReport(
                folder.name, "channel", f"path {folder}", "", "error", "no such folder"
            )
        )
        return
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            name = entry.name
        elif entry.is_file() and entry.suffix == ".py":
            name = entry.stem
        else:
            continue
        origin = f"path {entry}"
        try:
            module = _import_from(folder, name)
        except (Exception, SystemExit) as exc:
            catalog.reports.append(
                PluginLoadReport(name, "channel", origin, "", "error", _describe(exc))
            )
            continue
        for kind, listed, base in (
            ("channel", "CHANNELS", Channel),
            ("enricher", "ENRICHERS", Enricher),
        ):
            for obj in _declared(module, listed, base):
                _register(catalog, obj, kind, origin, "")


def _import_from(folder: Path, name: str) -> ModuleType:
    """Import module ``name`` from ``folder`` without adding the folder to sys.path."""
    existing = sys.modules.get(name)
    if existing is not None:
        where = getattr(existing, "__file__", None)
        if where is not None and Path(where).resolve().is_relative_to(folder):
            return existing
        raise ImportError(f"a module named {name!r} is already imported from {where}")
    spec = PathFinder.find_spec(name, [str(folder)])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {name!r} from {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _declared(module: ModuleType, listed: str, base: type) -> list[Any]:
    if hasattr(module, listed):
        return list(getattr(module, listed))
    prefix = module.__name__
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, base)
        and obj is not base
        and bool(getattr(obj, "plugin", ""))
        and (obj.__module__ == prefix or obj.__module__.startswith(prefix + "."))
    ]


def _register(
    catalog: PluginCatalog, obj: Any, kind: str, origin: str, dist_version: str, name: str = ""
) -> None:
    name = name or str(getattr(obj, "plugin", "") or getattr(obj, "__name__", repr(obj)))
    problems = declaration_problems(obj) if kind == "channel" else _enricher_problems(obj)
    version = str(getattr(obj, "version", "") or "")
    if version in ("", "0"):
        version = dist_version
    if problems:
        error = "; ".join(problems)
        catalog.reports.append(PluginLoadReport(name, kind, origin, version, "error", error))
        return
    table: dict[str, Any] = catalog.channels if kind == "channel" else catalog.enrichers
    known = table.get(name)
    if known is obj:
        return  # the same class reached twice (an entry point and its source folder)
    if known is not None:
        first = catalog.report_for(name, kind)
        error = f"another {kind} plugin named {name!r} is already loaded"
        if first is not None:
            error += f" from {first.origin}"
        catalog.reports.append(PluginLoadReport(name, kind, origin, version, "error", error))
        return
    table[name] = obj
    catalog.reports.append(PluginLoadReport(name, kind, origin, version))


def _enricher_problems(obj: Any) -> list[str]:
    if not isinstance(obj, type) or not issubclass(obj, Enricher):
        return [f"{obj!r} is not a subclass of agentdesk.plugin.Enricher"]
    problems = []
    if not isinstance(obj.plugin, str) or not obj.plugin.strip():
        problems.append("the class does not set `plugin`")
    if not all(isinstance(option, Option) for option in obj.options):
        problems.append("`options` must be a tuple of Option(...)")
    return problems


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
