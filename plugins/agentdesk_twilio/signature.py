"""Twilio's webhook signature (``X-Twilio-Signature``).

Twilio signs each request with the account's Auth Token: HMAC-SHA1 over the
full URL it requested (scheme, host, path and query string) followed by
every POST parameter's name and value, sorted by name, base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

#: Form fields as received: (name, value) pairs, a name possibly repeated.
FormPairs = Iterable[tuple[str, str]]

HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def signed_text(url: str, params: FormPairs) -> str:
    """The text Twilio signs: the URL, then each name+value sorted by name.

    A name sent several times contributes its values in sorted order, and
    an identical name/value pair counts once, as Twilio's own validators do.
    """
    pieces = [url]
    pieces.extend(name + value for name, value in sorted(set(params)))
    return "".join(pieces)


def compute_signature(auth_token: str, url: str, params: FormPairs) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a POST of ``params`` to ``url``."""
    text = signed_text(url, params).encode("utf-8")
    digest = hmac.new(auth_token.encode("utf-8"), text, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """The URL as given and with its default port written out or left out.

    Twilio has signed both forms of the same URL over the years, so a
    validator accepts either (``https://a.example/x`` and ``https://a.example:443/x``).
    """
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    variants = [url]
    try:
        port = parts.port
    except ValueError:
        return variants
    if default is None:
        return variants
    if port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


def is_valid(auth_token: str, url: str, params: FormPairs, signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this URL and these parameters."""
    if not signature:
        return False
    pairs = list(params)
    given = signature.strip().encode("ascii", "replace")
    return any(
        hmac.compare_digest(compute_signature(auth_token, variant, pairs).encode("ascii"), given)
        for variant in url_variants(url)
    )
