"""``python -m agentdesk_email.convert_worker``: convert one big message in a
process of its own (see ``workers``). Reads the request on stdin, writes
the result as JSON on stdout."""

from __future__ import annotations

import json
import sys

from .inbound import convert
from .wire_format import conversion_to_json, read_request


def main() -> None:
    fetched, settings, data_dir = read_request(sys.stdin.buffer.read())
    result = conversion_to_json(convert(fetched, settings, data_dir))
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
