"""The child parsing process's input and output (see ``workers``), as JSON.

Input on stdin: one JSON line (the message's UID and size, the settings
without passwords, the data directory), then the raw message bytes.
Output on stdout: the ``Conversion`` as one JSON object.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from agentdesk.plugin import InboundAttachment, InboundMessage

from .inbound import Conversion, FetchedMail
from .settings import EmailSettings, ServerSettings


def request_header(fetched: FetchedMail, settings: EmailSettings, data_dir: Path) -> bytes:
    """The first line of the child's input; the raw message follows it."""
    header = {
        "uid": fetched.uid,
        "size": fetched.size,
        "headers_only": fetched.headers_only,
        "settings": _settings_to_json(settings),
        "data_dir": str(data_dir),
    }
    return json.dumps(header).encode("utf-8") + b"\n"


def read_request(data: bytes) -> tuple[FetchedMail, EmailSettings, Path]:
    line, _, raw = data.partition(b"\n")
    header = json.loads(line)
    fetched = FetchedMail(
        uid=int(header["uid"]),
        raw=raw,
        size=int(header["size"]),
        headers_only=bool(header["headers_only"]),
    )
    return fetched, _settings_from_json(header["settings"]), Path(header["data_dir"])


def conversion_to_json(conversion: Conversion) -> dict[str, Any]:
    message = conversion.message
    return {
        "message": None if message is None else dataclasses.asdict(message),
        "skipped": conversion.skipped,
        "problems": list(conversion.problems),
    }


def conversion_from_json(data: dict[str, Any]) -> Conversion:
    raw = data.get("message")
    message = None
    if raw is not None:
        fields = dict(raw)
        fields["attachments"] = tuple(InboundAttachment(**a) for a in fields["attachments"])
        fields["other_identities"] = tuple(tuple(pair) for pair in fields["other_identities"])
        message = InboundMessage(**fields)
    return Conversion(message, data.get("skipped"), tuple(data.get("problems", ())))


def _settings_to_json(settings: EmailSettings) -> dict[str, Any]:
    data = dataclasses.asdict(settings)
    for server in ("imap", "smtp"):
        data[server]["password"] = ""  # the child reads mail; it never logs in
    return data


def _settings_from_json(data: dict[str, Any]) -> EmailSettings:
    fields = dict(data)
    fields["imap"] = ServerSettings(**fields["imap"])
    fields["smtp"] = ServerSettings(**fields["smtp"])
    fields["allow_lists"] = tuple(fields["allow_lists"])
    return EmailSettings(**fields)
