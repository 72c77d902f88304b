"""A certificate for 127.0.0.1 made at test time, for the wss:// and https:// tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import skip_or_fail


def self_signed(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made now by ``openssl`` (the
    ``cryptography`` package is not among the project's dependencies)."""
    if shutil.which("openssl") is None:
        skip_or_fail("openssl is not installed: it makes the wss tests' self-signed certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
        *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
        *("-addext", "subjectAltName=IP:127.0.0.1"),
    ]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return str(cert), str(key)
