"""The enricher's options, and the checked settings built from them.

``headers`` and ``fields`` are TOML tables. Each message names the key to
fix (``fields.plan: ...``) and never shows a header's value, which is
usually a credential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import Option, OptionKind, PluginConfigError

from .paths import FieldPath, parse_path, path_problem
from .template import UrlTemplate, parse_template, template_problem

#: Field names agents filter on (``company:acme``) and routing rules read.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# An HTTP header name (RFC 9110 token); a value may not break the line.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_BREAK = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True, slots=True)
class TableOption(Option):
    """An option whose value is a TOML table; its keys are checked by the enricher.

    (``Option`` has no table kind; the values are never shown back.)
    """

    def convert(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"expected a table (name = value lines), got {type(value).__name__}")
        return dict(value)

    def describe(self) -> str:
        return "table, required" if self.required else "table, default empty"


OPTIONS: tuple[Option, ...] = (
    Option.text(
        "url",
        help="the look-up URL, with {email}, {phone}, {value} or {kind} where the "
        "customer's address goes (like https://crm.example/api/customers?email={email})",
        validator=template_problem,
    ),
    TableOption(
        "fields",
        OptionKind.LIST,
        help='field name = dotted path in the JSON answer (company = "account.name", '
        'orders = "orders#" for a count), in the order the pane shows them',
        required=True,
    ),
    TableOption(
        "headers",
        OptionKind.LIST,
        help='request headers (Authorization = "Bearer ${CRM_TOKEN}"); never shown or logged',
    ),
    Option.number(
        "timeout",
        default=3,
        minimum=0.1,
        maximum=30,
        help="seconds a look-up may take",
    ),
)


@dataclass(frozen=True, slots=True)
class HttpJsonSettings:
    template: UrlTemplate
    #: (field name, path), in the pane's order.
    fields: tuple[tuple[str, FieldPath], ...]
    headers: dict[str, str]
    timeout: float


def build_settings(options: dict[str, Any]) -> HttpJsonSettings:
    """Check the tables' keys and values; each message names ``table.key``."""
    return HttpJsonSettings(
        template=parse_template(str(options["url"])),
        fields=_fields(options.get("fields") or {}),
        headers=_headers(options.get("headers") or {}),
        timeout=float(options["timeout"]),
    )


def _fields(table: dict[str, Any]) -> tuple[tuple[str, FieldPath], ...]:
    if not table:
        raise PluginConfigError('fields: name at least one field (company = "account.name")')
    fields = []
    for name, path in table.items():
        if not isinstance(name, str) or FIELD_NAME.fullmatch(name) is None:
            raise PluginConfigError(
                f"fields.{name}: a field name is lower-case letters, digits and underscores "
                "(agents filter on it: company:acme)"
            )
        if not isinstance(path, str):
            raise PluginConfigError(
                f"fields.{name}: expected a dotted path as text, got {type(path).__name__}"
            )
        problem = path_problem(path.strip())
        if problem is not None:
            raise PluginConfigError(f"fields.{name}: {problem}")
        fields.append((name, parse_path(path.strip())))
    return tuple(fields)


def _headers(table: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for name, value in table.items():
        if not isinstance(name, str) or _HEADER_NAME.fullmatch(name) is None:
            raise PluginConfigError(f"headers.{name}: not a valid HTTP header name")
        if not isinstance(value, str):
            raise PluginConfigError(
                f"headers.{name}: expected text, got a value of type {type(value).__name__}"
            )
        if _HEADER_BREAK.search(value):
            raise PluginConfigError(f"headers.{name}: the value holds a line break")
        headers[name] = value
    return headers
