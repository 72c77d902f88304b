"""How a headless desk writes its log: readable lines, or one JSON object a line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """``{"time", "level", "logger", "message"}`` (and ``error`` with a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_to_stderr(form: str, *, debug: bool = False) -> None:
    """Send every record at INFO (DEBUG with ``debug``) to stderr in ``form``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if form == "json" else logging.Formatter(HUMAN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # A request line per webhook is noise at INFO; errors still show.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    quiet_wire_logs()


def quiet_wire_logs() -> None:
    """Never below INFO for the loggers that write websocket frames at DEBUG:
    a console's hello carries its token."""
    for name in ("uvicorn.error", "websockets"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
