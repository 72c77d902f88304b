"""The templates option: message templates Meta approved, as the agent picks them.

Each is a table in the channel's config::

    [[channels.templates]]
    name = "order_update"          # the template's name at Meta
    language = "en_US"             # the language it was approved in
    text = "Hello {{1}}, your order {{2}} has shipped."
    parameters = ["customer name", "order number"]

and becomes a ``ReplyTemplate``. The plugin API's options take text and
lists of text only, so this option converts a list of tables itself; a wrong
entry is named by its position and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentdesk.plugin import Option, ReplyTemplate

#: Meta's template names: lower-case letters, digits and underscores.
_NAME = re.compile(r"[a-z0-9_]{1,512}")
#: Meta's language codes: ``en``, ``en_US``, ``pt_BR``, ``zh_HK``...
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_KEYS = ("name", "language", "text", "parameters")


class TemplatesOption(Option):
    """An option holding a list of template tables; its value is a tuple of ``ReplyTemplate``."""

    __slots__ = ()

    def convert(self, value: Any) -> Any:
        if isinstance(value, tuple) and all(isinstance(v, ReplyTemplate) for v in value):
            return value  # already converted (the declaration's default)
        if not isinstance(value, (list, tuple)):
            raise ValueError(
                "expected a list of tables ([[channels.templates]] with name, language, "
                f"text and parameters), got {type(value).__name__}"
            )
        templates = tuple(template(index, entry) for index, entry in enumerate(value))
        seen: set[str] = set()
        for index, made in enumerate(templates):
            if made.name in seen:
                raise ValueError(
                    f"[{index}].name: {made.name!r} is listed twice; "
                    "a channel offers each template name once, in one language"
                )
            seen.add(made.name)
        return templates


def template(index: int, entry: Any) -> ReplyTemplate:
    """One table of the option; ValueError names the entry's position and key."""
    where = f"[{index}]"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a table with name, language and text")
    unknown = [key for key in entry if key not in _KEYS]
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(_KEYS)})")
    for key in ("name", "language", "text"):
        if key not in entry:
            raise ValueError(f"{where}.{key}: required")
        if not isinstance(entry[key], str):
            raise ValueError(f"{where}.{key}: expected text, got {entry[key]!r}")
    name, language, text = entry["name"].strip(), entry["language"].strip(), entry["text"]
    if _NAME.fullmatch(name) is None:
        raise ValueError(
            f"{where}.name: expected the template's name at Meta (lower-case letters, "
            f"digits and underscores), got {name!r}"
        )
    if _LANGUAGE.fullmatch(language) is None:
        raise ValueError(
            f"{where}.language: expected a WhatsApp language code such as en_US, fr "
            f"or pt_BR, got {language!r}"
        )
    if not text.strip():
        raise ValueError(f"{where}.text: the template's text is empty")
    labels = entry.get("parameters", [])
    if not isinstance(labels, (list, tuple)) or not all(
        isinstance(label, str) and label.strip() for label in labels
    ):
        raise ValueError(f"{where}.parameters: expected a list of non-empty labels")
    numbers = {int(found) for found in _PLACEHOLDER.findall(text)}
    wanted = set(range(1, len(labels) + 1))
    if numbers != wanted:
        shown = ", ".join("{{" + str(n) + "}}" for n in sorted(numbers)) or "no placeholder"
        raise ValueError(
            f"{where}.parameters: the text has {shown} but {len(labels)} "
            f"parameter{'s' if len(labels) != 1 else ''} named; name one per placeholder, "
            "numbered from {{1}}"
        )
    # Placeholders are written {{1}} in what the agent sees, however spaced in the config.
    canonical = _PLACEHOLDER.sub(lambda m: "{{" + str(int(m.group(1))) + "}}", text)
    return ReplyTemplate(
        name=name,
        text=canonical,
        language=language,
        parameters=tuple(label.strip() for label in labels),
    )


TEMPLATES = TemplatesOption.list(
    "templates",
    help="the message templates Meta approved, sendable outside the 24-hour window: "
    "tables with name, language, text ({{1}}, {{2}}... for the parameters) and parameters "
    "(a label for each)",
)
