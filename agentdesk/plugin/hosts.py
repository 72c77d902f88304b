"""Telling a loopback host from a remote one.

Channels allow plain-text connections (``http://``, SMTP without TLS) to
loopback hosts only: a password or a token never crosses a network in clear.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 in brackets or not) is this machine."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
