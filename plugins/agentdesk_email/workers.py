"""Where a fetched message is converted: a worker thread, or a child process for big ones.

Parsing megabytes of MIME with the ``email`` package spends long stretches
in C calls that hold the GIL (splitting, decoding, base64): measured here, a
message with a 20 MB attachment held the event loop for about 2 s when parsed
in a thread. In embedded mode that loop also draws the console, so a big
message is parsed by ``python -m agentdesk_email.convert_worker`` instead: a
plain child process (not ``multiprocessing``, which would re-import the
host program's main module), fed on stdin, answering JSON on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import agentdesk.plugin

from .inbound import Conversion, FetchedMail, convert
from .settings import EmailSettings
from .wire_format import conversion_from_json, request_header

#: Messages at least this large are parsed in a child process.
PROCESS_THRESHOLD = 1 << 20


class Converter:
    """Converts fetched mail off the event loop."""

    def __init__(self, settings: EmailSettings, data_dir: Path, logger: logging.Logger) -> None:
        self._settings = settings
        self._data_dir = data_dir
        self._log = logger

    async def convert(self, fetched: FetchedMail) -> Conversion:
        if len(fetched.raw) >= PROCESS_THRESHOLD:
            try:
                return await self._in_child(fetched)
            except (OSError, RuntimeError, ValueError) as exc:
                self._log.warning(
                    "message UID %s: parsing process failed (%s); parsing in a thread",
                    fetched.uid,
                    exc,
                )
        return await asyncio.to_thread(convert, fetched, self._settings, self._data_dir)

    async def _in_child(self, fetched: FetchedMail) -> Conversion:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agentdesk_email.convert_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_environment(),
        )
        header = request_header(fetched, self._settings, self._data_dir)
        try:
            out, err = await process.communicate(header + fetched.raw)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        if process.returncode != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"exit code {process.returncode}: {detail[0]}")
        return conversion_from_json(json.loads(out))


def _child_environment() -> dict[str, str]:
    """The parent's environment, with the folders holding this plugin and
    ``agentdesk`` first on the path, wherever they were loaded from."""
    here = Path(__file__).resolve().parent.parent
    api = Path(agentdesk.plugin.__file__).resolve().parent.parent.parent
    paths = [str(here), str(api)]
    existing = os.environ.get("PYTHONPATH")
    if existing:
        paths.append(existing)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
