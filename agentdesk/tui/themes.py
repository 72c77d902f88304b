"""Console themes read from data files (TOML), turned into Textual themes.

A theme file names its colours the way Textual does::

    name = "agentdesk-dark"
    dark = true
    primary = "#4ea1ff"
    background = "#121417"

    [variables]
    "footer-key-foreground" = "#4ea1ff"

A file that cannot be read is reported and skipped; the console starts anyway.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

_COLOURS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_OTHER = {"name", "dark", "luminosity_spread", "text_alpha", "variables"}

#: Where the themes shipped with agentdesk live (a source checkout's ``themes/``).
DEFAULT_THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"


@dataclass
class LoadedThemes:
    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def theme_from_data(data: dict[str, object], origin: str) -> Theme:
    """Build a Theme from a parsed file; raise ValueError naming the bad setting."""
    unknown = set(data) - set(_COLOURS) - _OTHER
    if unknown:
        raise ValueError(f"{origin}: unknown setting(s) {', '.join(sorted(unknown))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{origin}: 'name' must be a non-empty string")
    colours: dict[str, str] = {}
    for key in _COLOURS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{origin}: {key} must be a colour string")
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{origin}: {key} = {value!r} is not a colour") from None
        colours[key] = value
    if "primary" not in colours:
        raise ValueError(f"{origin}: 'primary' is required")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ValueError(f"{origin}: [variables] must map names to strings")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError(f"{origin}: 'dark' must be true or false")
    extra: dict[str, Any] = dict(colours)
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            value = data[key]
            if not isinstance(value, int | float):
                raise ValueError(f"{origin}: {key} must be a number")
            extra[key] = float(value)
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **extra)


def load_themes(directory: Path | None) -> LoadedThemes:
    """Every ``*.toml`` theme in ``directory`` (sorted by file name)."""
    loaded = LoadedThemes()
    if directory is None or not directory.is_dir():
        if directory is not None:
            loaded.problems.append(f"theme folder {directory} not found")
        return loaded
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            loaded.themes.append(theme_from_data(data, path.name))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
            loaded.problems.append(f"theme {path.name} skipped: {exc}")
    return loaded
