"""The look-up URL: a template with the customer's address put in, encoded.

``https://crm.example/api/customers?email={email}`` takes email addresses
only; ``{phone}`` takes phone numbers; ``{value}`` takes any kind, and
``{kind}`` names it (``.../lookup/{kind}/{value}``). A kind the template
does not take is not looked up at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from agentdesk.plugin import is_loopback

PLACEHOLDERS = ("kind", "value", "email", "phone")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
EXAMPLE = "https://crm.example/api/customers?email={email}"


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    text: str
    names: frozenset[str]

    def takes(self, kind: str) -> bool:
        """Whether a look-up of this identity kind has a place in the URL."""
        return "value" in self.names or "kind" in self.names or kind in self.names

    def render(self, kind: str, value: str) -> str | None:
        """The URL for one identity, each part percent-encoded; None when the
        template does not take its kind."""
        if not self.takes(kind):
            return None

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "kind":
                part = kind
            elif name == "value" or name == kind:
                part = value
            else:
                part = ""  # {phone} in a look-up by email
            # Nothing kept: "+" in a phone number and "@" must arrive as data.
            return quote(part, safe="")

        return _PLACEHOLDER.sub(fill, self.text)


def template_problem(text: str) -> str | None:
    """What is wrong with a URL template, for the ``url`` option's message."""
    names = _PLACEHOLDER.findall(text)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}: use " + ", ".join(
            f"{{{name}}}" for name in PLACEHOLDERS
        )
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        return "a brace that opens or closes no placeholder"
    if not names:
        return f"the URL takes no placeholder for the customer's address (like {EXAMPLE})"
    parts = urlsplit(_PLACEHOLDER.sub("x", text))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # The URL itself is not shown: it may carry a key in its query.
        return f"expected an http(s) URL like {EXAMPLE}"
    if "{" in urlsplit(text).netloc:
        return "a placeholder may be in the path or the query, not in the host"
    if parts.fragment:
        return "expected a URL without a fragment"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # Headers carry the back office's credentials: never in clear across a network.
        return "plain http is only allowed to this machine; use https"
    return None


def parse_template(text: str) -> UrlTemplate:
    """The template (already checked with ``template_problem``)."""
    return UrlTemplate(text.strip(), frozenset(_PLACEHOLDER.findall(text)))
