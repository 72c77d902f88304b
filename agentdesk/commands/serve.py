"""``agentdesk serve``: the desk, headless, serving a team's consoles."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import ssl
from pathlib import Path
from typing import Any

from .base import CommandError, Invocation
from .log_format import log_to_stderr

log = logging.getLogger("agentdesk.serve")


def add_parser(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the desk headless: channels, webhooks and the hub consoles connect to",
    )
    serve.add_argument("--host", help="address to listen on (default: [http] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: [http] port)")
    serve.add_argument("--certfile", type=Path, help="certificate to serve wss:// and https://")
    serve.add_argument("--keyfile", type=Path, help="the certificate's private key")
    serve.add_argument(
        "--log-format",
        choices=("human", "json"),
        default="human",
        help="log lines for people, or one JSON object a line",
    )
    serve.add_argument(
        "--drain-timeout",
        type=float,
        default=10.0,
        help="seconds in-flight commands get to finish on shutdown",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="serve the demo's simulated channels instead of the configured ones",
    )
    serve.add_argument(
        "--demo-routing",
        action="store_true",
        help="with --demo: the desk assigns tasks itself, by the demo's skill rules",
    )
    serve.add_argument("--rate", type=float, default=4.0, help="with --demo: messages a minute")
    serve.add_argument("--seed", type=int, default=7, help="with --demo: seed of the simulation")
    serve.set_defaults(handler=run_serve)


def run_serve(inv: Invocation) -> int:
    log_to_stderr(inv.args.log_format, debug=inv.args.debug)
    if inv.args.demo:
        from .console import demo_config

        config = demo_config(
            inv.config, rate=inv.args.rate, seed=inv.args.seed, routing=inv.args.demo_routing
        )
        inv = dataclasses.replace(inv, config=config)
    certfile = inv.args.certfile or inv.config.hub.certfile
    keyfile = inv.args.keyfile or inv.config.hub.keyfile
    if bool(certfile) != bool(keyfile):
        raise CommandError("--certfile and --keyfile go together")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise CommandError(f"{path}: no such file")
    hub = dataclasses.replace(inv.config.hub, certfile=certfile, keyfile=keyfile)
    inv = dataclasses.replace(inv, config=dataclasses.replace(inv.config, hub=hub))
    http = inv.config.http
    if inv.args.host is not None:
        http = dataclasses.replace(http, host=inv.args.host)
    if inv.args.port is not None:
        if not 0 <= inv.args.port <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {inv.args.port}")
        http = dataclasses.replace(http, port=inv.args.port)
    return asyncio.run(_serve(inv, http))


async def _serve(inv: Invocation, http: Any) -> int:
    from agentdesk.core.hub.service import HubService

    service = HubService(inv.config, inv.store_path, http=http)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await service.start()
        except ssl.SSLError as exc:
            hub = inv.config.hub
            raise CommandError(
                f"cannot serve TLS with {hub.certfile} and {hub.keyfile}: {exc.reason or exc}"
            ) from None
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {http.host}:{http.port}: {exc.strerror or exc}"
            ) from None
        where = inv.store_path.resolve()
        log.info("serving the desk at %s (store %s)", service.desk_url, where)
        await stop.wait()
        log.info("shutting down: draining consoles and channels")
    finally:
        await service.stop(inv.args.drain_timeout)
    log.info("stopped")
    return 0
