"""Typed channel options.

A channel declares its options once; the same declaration validates the
``[[channels]]`` table in the config, prints ``agentdesk plugins info`` and
feeds the docs::

    options = (
        Option.text("host", help="IMAP server name"),
        Option.number("port", default=993, minimum=1, maximum=65535),
        Option.secret("password", help="app password; write ${ENV_VAR}"),
    )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import PluginConfigError


class OptionKind(StrEnum):
    TEXT = "text"
    SECRET = "secret"
    NUMBER = "number"
    FLAG = "flag"
    CHOICE = "choice"
    PATH = "path"
    LIST = "list"


_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a channel. Build them with the ``Option.text(...)``-style constructors."""

    name: str
    kind: OptionKind
    help: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    #: Extra check on the converted value: return an error sentence, or None when fine.
    validator: Callable[[Any], str | None] | None = None

    @classmethod
    def text(cls, name: str, *, help: str = "", default: str | None = None, **kw: Any) -> Option:
        return cls(name, OptionKind.TEXT, help, default, required=default is None, **kw)

    @classmethod
    def secret(cls, name: str, *, help: str = "", default: str | None = None, **kw: Any) -> Option:
        return cls(name, OptionKind.SECRET, help, default, required=default is None, **kw)

    @classmethod
    def number(
        cls,
        name: str,
        *,
        help: str = "",
        default: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        integer: bool = False,
        **kw: Any,
    ) -> Option:
        return cls(
            name,
            OptionKind.NUMBER,
            help,
            default,
            required=default is None,
            minimum=minimum,
            maximum=maximum,
            integer=integer,
            **kw,
        )

    @classmethod
    def flag(cls, name: str, *, help: str = "", default: bool = False, **kw: Any) -> Option:
        return cls(name, OptionKind.FLAG, help, default, **kw)

    @classmethod
    def choice(
        cls, name: str, choices: Sequence[str], *, help: str = "", default: str | None = None
    ) -> Option:
        return cls(
            name, OptionKind.CHOICE, help, default, required=default is None, choices=tuple(choices)
        )

    @classmethod
    def path(cls, name: str, *, help: str = "", default: str | None = None, **kw: Any) -> Option:
        return cls(name, OptionKind.PATH, help, default, required=default is None, **kw)

    @classmethod
    def list(cls, name: str, *, help: str = "", default: Sequence[str] = (), **kw: Any) -> Option:
        return cls(name, OptionKind.LIST, help, tuple(default), **kw)

    def describe(self) -> str:
        """A one-line description: kind, default, and constraints."""
        parts = [self.kind.value]
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.required:
            parts.append("required")
        elif self.kind == OptionKind.SECRET and self.default:
            parts.append("default set")
        else:
            parts.append(f"default {self.default!r}")
        return ", ".join(parts)

    def convert(self, value: Any) -> Any:
        """The typed value, or PluginConfigError's message as ValueError."""
        kind = self.kind
        if kind in (OptionKind.TEXT, OptionKind.SECRET, OptionKind.CHOICE, OptionKind.PATH):
            if not isinstance(value, str):
                raise ValueError(f"expected text, got {_show(self, value)}")
            if kind == OptionKind.CHOICE and value not in self.choices:
                raise ValueError(f"expected one of {', '.join(self.choices)}, got {value!r}")
            converted: Any = Path(value).expanduser() if kind == OptionKind.PATH else value
        elif kind == OptionKind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number, got {_show(self, value)}")
            if self.integer and not float(value).is_integer():
                raise ValueError(f"expected a whole number, got {value!r}")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"expected a number >= {self.minimum:g}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"expected a number <= {self.maximum:g}, got {value!r}")
            converted = int(value) if self.integer else value
        elif kind == OptionKind.FLAG:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {_show(self, value)}")
            converted = value
        else:  # LIST
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"expected a list of text, got {_show(self, value)}")
            converted = tuple(value)
        if self.validator is not None:
            problem = self.validator(converted)
            if problem:
                raise ValueError(problem)
        return converted


def _show(option: Option, value: Any) -> str:
    if option.kind == OptionKind.SECRET:
        return f"a value of type {type(value).__name__}"
    return repr(value)


def parse_options(
    declared: Sequence[Option], raw: Mapping[str, Any], *, where: str = "options"
) -> dict[str, Any]:
    """Check ``raw`` against ``declared`` and return typed values with defaults filled in.

    ``where`` prefixes every message (for example ``config.toml: channels[2]``) so
    the person reading it knows which file and table to fix.
    """
    by_name = {option.name: option for option in declared}
    unknown = [key for key in raw if key not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise PluginConfigError(f"{where}.{unknown[0]}: unknown option (known options: {known})")
    values: dict[str, Any] = {}
    for option in declared:
        if option.name in raw:
            try:
                values[option.name] = option.convert(raw[option.name])
            except ValueError as exc:
                raise PluginConfigError(f"{where}.{option.name}: {exc}") from None
        elif option.required:
            raise PluginConfigError(f"{where}.{option.name}: required option is missing")
        else:
            default = option.default
            values[option.name] = (
                Path(default).expanduser()
                if option.kind == OptionKind.PATH and default is not None
                else default
            )
    return values
