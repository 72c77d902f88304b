"""Hub load benchmark: many consoles on one real hub under a steady ingest, beside bare fan-out.

    .venv/bin/python bench/hub_load.py                            # 200 consoles, 100 msg/s, 60 s
    .venv/bin/python bench/hub_load.py --consoles 50 --seconds 20
    .venv/bin/python bench/hub_load.py --consoles 500 --compression none
    .venv/bin/python bench/hub_load.py --hub-nodelay --no-baseline   # a what-if, see below

The hub is the real ``agentdesk serve``, in its own process, on a throwaway
SQLite store holding ``--consoles`` agents (added through the desk's API in
this process beforehand). Its one channel is the SMS webhook channel of
docs/plugins.md (the guide's code block, loaded from a plugin folder). This
process posts customer texts to that webhook at ``--rate`` a second on a
fixed schedule (16 kept-alive connections), and plays the SMS gateway the
channel sends replies to. The rate is imposed from outside: a hub that cannot
keep up shows it as latency and as posts answered late, not as a lower rate;
posts still unanswered 10 s after the schedule ends are given up (counted),
so a run is bounded in time.

Each console is a real websocket client (the ``websockets`` library, offering
permessage-deflate as the agentdesk console does) in one of
``--client-procs`` processes: hello with its agent's token, ``subscribe``
from the welcome's seq, then it reads every frame. A share of them
(``--repliers``) also sends a command every ``--command-interval`` seconds, a
reply and a note in turn on the last task it saw.

Measured once every console is subscribed and the hub is quiet, from the
first post until the hub is quiet again after the last:

* update latency: for each ingested message and each console, the console's
  ``time.time()`` when the frame was read off its socket minus the message
  event's ``at``, which the desk stamps with ``time.time()`` on its store
  thread while planning the transaction that commits the message (so the
  commit itself is inside the figure); one machine, one clock. Also: from the
  post's time on the schedule to the console (webhook, channel queue, ingest,
  fan-out);
* updates lost: each console's count of update frames for everyone against
  the hub's ``agentdesk_updates_total`` over the same interval, and its count
  of ingested messages against the posts answered;
* commands: answered per second, and their round trip (``call`` sent until
  its ``result`` read), beside the hub's own time to answer (its
  ``agentdesk_request_seconds`` histogram);
* the hub process: CPU (``utime + stime`` of every thread, ``/proc/PID/stat``,
  first post to last answer) and peak RSS (``VmHWM``, ``/proc/PID/status``);
  also the CPU of the client processes and of this one, and how idle the
  machine was: on a small machine they all compete for the same cores.

Baseline, in the same run: a plain ``websockets`` server in its own process
answering the same handshake and calls, broadcasting
(``websockets.broadcast``, which compresses and writes per connection as
well) ``--rate`` frames a second plus the hub's other updates a second
(commands, deliveries), each a real update frame of the hub run re-stamped
and padded to that run's mean update frame size, to the same number of
consoles, read by the same client code: the bare fan-out ceiling of this
machine. It has no keepalive: with no backpressure, a pong behind a backlog
would close the connection where the hub only slows down.

``--hub-nodelay`` starts the hub with TCP_NODELAY set on its listening
socket. The desk's HTTP server binds its own socket, which asyncio does not
recognise as TCP (``proto`` 0), so the connections it accepts keep Nagle's
algorithm; this what-if shows what that costs.

Budget (the hub issue): at 200 consoles and 100 msg/s, update p99 at most
100 ms, no update lost, hub peak RSS at most 600 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentdesk.api.wire import MAX_ANSWER, PROTOCOL_VERSION  # noqa: E402

BUDGET = {"consoles": 200, "rate": 100.0, "p99_ms": 100.0, "rss_mb": 600.0}
#: Consoles of one process connecting at once: a burst of hellos, not a stampede.
CONNECTS_AT_ONCE = 20
#: The hub counts as quiet once its published count holds this long.
QUIET_SECONDS = 1.5
#: A console that has received nothing new for this long has all it will get.
SETTLE_SECONDS = 5.0
READY_SECONDS = 120.0
#: Webhook posts in flight at once, each on its own kept-alive connection.
POSTS_AT_ONCE = 16
#: How long posts still waiting when the schedule ends may take.
GRACE_SECONDS = 10.0
#: What the customers write, a few of these words at random.
WORDS = (
    *("hello", "my", "parcel", "has", "not", "arrived", "yet", "the", "tracking", "page"),
    *("says", "delivered", "since", "monday", "could", "you", "check", "address", "please"),
    *("I", "was", "charged", "twice", "for", "same", "order", "need", "a", "refund", "thanks"),
)


# --- the consoles: client processes ------------------------------------------------


class Event(msgspec.Struct):
    """The fields of an event the consoles look at; the rest is skipped."""

    kind: str = ""
    task_id: str = ""
    at: float = 0.0
    direction: str = ""
    text: str = ""


class Update(msgspec.Struct):
    seq: int = 0
    events: list[Event] = msgspec.field(default_factory=list)
    reset: bool = False
    to: str | None = None


class Incoming(msgspec.Struct, tag_field="type"):
    pass


class WelcomeIn(Incoming, tag="welcome"):
    seq: int


class RefusedIn(Incoming, tag="refused"):
    message: str


class SubscribedIn(Incoming, tag="subscribed"):
    since: int


class UpdateIn(Incoming, tag="update"):
    update: Update


class ResultIn(Incoming, tag="result"):
    id: str


class ErrorIn(Incoming, tag="error"):
    id: str
    message: str


class ByeIn(Incoming, tag="bye"):
    reason: str


DECODER = msgspec.json.Decoder(
    Union[WelcomeIn, RefusedIn, SubscribedIn, UpdateIn, ResultIn, ErrorIn, ByeIn]  # noqa: UP007
)


def is_load_message(event: Event) -> bool:
    """A customer text this benchmark posted (not a reply, note or delivery change)."""
    return event.kind == "message" and event.direction == "inbound" and event.text[:5] == "load "


@dataclass
class Console:
    updates: int = 0
    messages: int = 0
    resets: int = 0
    closed: str = ""
    last_task: str = ""
    ws: Any = None


@dataclass
class Fleet:
    """The consoles of one client process, and what they measured."""

    url: str
    tokens: list[str]
    repliers: int
    interval: float
    compression: str | None
    consoles: list[Console] = field(default_factory=list)
    counting: bool = False
    commanding: bool = False
    latencies: array = field(default_factory=lambda: array("d"))
    from_post: array = field(default_factory=lambda: array("d"))
    command_latencies: array = field(default_factory=lambda: array("d"))
    command_errors: list[str] = field(default_factory=list)
    pending: dict[str, float] = field(default_factory=dict)
    frame_bytes: int = 0
    frames: int = 0
    sample: bytes = b""
    subscribed: int = 0
    failed: list[str] = field(default_factory=list)
    deflate: bool = False

    def __post_init__(self) -> None:
        self.consoles = [Console() for _ in self.tokens]
        self.settled = asyncio.Event()

    async def console(self, index: int, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        state = self.consoles[index]
        try:
            async with gate:
                ws = await connect(
                    self.url,
                    max_size=MAX_ANSWER,
                    compression=self.compression,
                    open_timeout=60,
                    ping_interval=20,
                    ping_timeout=20,
                )
                hello = {"type": "hello", "protocol": PROTOCOL_VERSION, "client": "bench"}
                await ws.send(json.dumps({**hello, "token": self.tokens[index]}))
                welcome = DECODER.decode(await ws.recv(decode=False))
                if not isinstance(welcome, WelcomeIn):
                    raise RuntimeError(f"not welcomed: {welcome}")
                await ws.send(json.dumps({"type": "subscribe", "since": welcome.seq}))
            state.ws = ws
            self.deflate = self.deflate or bool(ws.protocol.extensions)
            while True:
                raw = await ws.recv(decode=False)
                self.on_frame(state, DECODER.decode(raw), raw, time.time())
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            state.closed = f"closed {code} {exc.rcvd.reason if exc.rcvd else ''}".strip()
        except Exception as exc:
            state.closed = f"{type(exc).__name__}: {exc}"
            if state.ws is None:
                self.failed.append(state.closed)
                self.check_ready()

    def on_frame(self, state: Console, frame: Any, raw: bytes, arrived: float) -> None:
        if isinstance(frame, UpdateIn):
            self.on_update(state, frame.update, raw, arrived)
        elif isinstance(frame, (ResultIn, ErrorIn)):
            sent = self.pending.pop(frame.id, None)
            if sent is not None and self.counting:
                self.command_latencies.append(time.perf_counter() - sent)
                if isinstance(frame, ErrorIn):
                    self.command_errors.append(frame.message)
        elif isinstance(frame, SubscribedIn):
            self.subscribed += 1
            self.check_ready()

    def on_update(self, state: Console, update: Update, raw: bytes, arrived: float) -> None:
        if update.to is not None:
            return  # a notice for one agent: not in the hub's count of updates
        loads = [e for e in update.events if is_load_message(e)]
        if loads:
            state.last_task = loads[-1].task_id
        if not self.counting:
            return
        state.updates += 1
        state.resets += update.reset
        self.frames += 1
        self.frame_bytes += len(raw)
        if len(loads) == 1:
            self.sample = raw  # the latest: by then most updates are of known customers
        for event in loads:
            state.messages += 1
            self.latencies.append(arrived - event.at)
            self.from_post.append(arrived - float(event.text.split(" ", 3)[2]))

    def check_ready(self) -> None:
        if self.subscribed + len(self.failed) >= len(self.tokens):
            self.settled.set()

    async def replier(self, index: int) -> None:
        """A command every ``interval`` seconds: a reply, then a note, on the last task seen."""
        state = self.consoles[index]
        rng = random.Random(index)
        await asyncio.sleep(rng.uniform(0, self.interval))
        sent = 0
        while self.commanding and state.ws is not None and not state.closed:
            if state.last_task:
                sent += 1
                op = "reply" if sent % 2 else "note"
                call_id = uuid.uuid4().hex
                request = {"op": op, "task_id": state.last_task, "text": f"{op} {sent} from bench"}
                self.pending[call_id] = time.perf_counter()
                await state.ws.send(json.dumps({"type": "call", "id": call_id, "request": request}))
            await asyncio.sleep(self.interval)

    async def settle(self, expected: int, deadline: float) -> None:
        """Until every console has ``expected`` updates, or nothing moves any more."""
        last, still_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            counts = sum(min(c.updates, expected) for c in self.consoles)
            if counts >= expected * len(self.consoles):
                return
            if counts != last:
                last, still_since = counts, time.monotonic()
            elif time.monotonic() - still_since > SETTLE_SECONDS:
                return
            await asyncio.sleep(0.1)

    def summary(self, cpu: float) -> dict[str, Any]:
        return {
            "updates": [c.updates for c in self.consoles if c.ws is not None],
            "messages": [c.messages for c in self.consoles if c.ws is not None],
            "resets": sum(c.resets for c in self.consoles),
            "closed": [c.closed for c in self.consoles if c.closed],
            "latencies": self.latencies.tobytes(),
            "from_post": self.from_post.tobytes(),
            "command_latencies": self.command_latencies.tobytes(),
            "command_errors": self.command_errors[:5],
            "commands_unanswered": len(self.pending),
            "frame_bytes": self.frame_bytes,
            "frames": self.frames,
            "sample": self.sample,
            "cpu": cpu,
            "deflate": self.deflate,
        }

    async def serve(self, conn: Any) -> None:
        """Connect, then follow the orchestrator: ready, go, halt, collect (what to expect)."""
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        tasks = [asyncio.create_task(self.console(i, gate)) for i in range(len(self.tokens))]
        await self.settled.wait()
        conn.send(("ready", self.subscribed, self.failed[:3]))
        await loop.run_in_executor(None, conn.recv)  # go
        self.counting = self.commanding = True
        conn.send(("going",))
        cpu, began = cpu_seconds(), time.perf_counter()
        tasks += [asyncio.create_task(self.replier(i)) for i in range(self.repliers)]
        await loop.run_in_executor(None, conn.recv)  # halt: the ingest is over
        self.commanding = False
        cpu = (cpu_seconds() - cpu) / (time.perf_counter() - began)
        _, expected, deadline = await loop.run_in_executor(None, conn.recv)  # collect
        await self.settle(expected, time.monotonic() + deadline)
        self.counting = False
        conn.send(("result", self.summary(cpu)))
        for task in tasks:
            task.cancel()


def client_process(conn: Any, url: str, tokens: list[str], repliers: int, options: dict) -> None:
    fleet = Fleet(url, tokens, repliers, options["interval"], options["compression"])
    asyncio.run(fleet.serve(conn))


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class Clients:
    """The client processes, each with its share of the consoles."""

    def __init__(self, url: str, tokens: list[str], args: argparse.Namespace) -> None:
        context = multiprocessing.get_context("spawn")
        procs = max(1, min(args.client_procs, len(tokens)))
        repliers = round(len(tokens) * args.repliers)
        options = {"interval": args.command_interval, "compression": args.compression}
        self.links: list[Any] = []
        self.procs: list[Any] = []
        for n in range(procs):
            share = tokens[n::procs]
            mine = len(range(n, repliers, procs))
            parent, child = context.Pipe()
            proc = context.Process(
                target=client_process, args=(child, url, share, mine, options), daemon=True
            )
            proc.start()
            self.links.append(parent)
            self.procs.append(proc)

    async def ready(self) -> tuple[int, list[str]]:
        answers = await asyncio.gather(*(self._recv(link, READY_SECONDS) for link in self.links))
        return sum(a[1] for a in answers), [f for a in answers for f in a[2]]

    async def go(self) -> None:
        """Start counting, and commanding; back once every process counts."""
        for link in self.links:
            link.send(("go",))
        await asyncio.gather(*(self._recv(link, 30) for link in self.links))

    def halt(self) -> None:
        """No more commands: the ingest is over."""
        for link in self.links:
            link.send(("halt",))

    async def collect(self, expected: int, settle_limit: float) -> dict[str, Any]:
        """What the consoles saw, once each has ``expected`` updates or stopped getting any."""
        for link in self.links:
            link.send(("collect", expected, settle_limit))
        answers = await asyncio.gather(
            *(self._recv(link, settle_limit + 60) for link in self.links)
        )
        return merge([a[1] for a in answers])

    async def _recv(self, link: Any, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, link.poll, timeout):
            raise SystemExit("a client process did not answer in time")
        return link.recv()

    def close(self) -> None:
        for proc in self.procs:
            proc.join(2)
            if proc.is_alive():
                proc.terminate()


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"cpu": [p["cpu"] for p in parts]}
    for key in ("updates", "messages", "closed", "command_errors"):
        merged[key] = [v for p in parts for v in p[key]]
    for key in ("resets", "commands_unanswered", "frame_bytes", "frames"):
        merged[key] = sum(p[key] for p in parts)
    for key in ("latencies", "from_post", "command_latencies"):
        values = array("d")
        for p in parts:
            values.frombytes(p[key])
        merged[key] = values
    merged["sample"] = next((p["sample"] for p in parts if p["sample"]), b"")
    merged["deflate"] = any(p["deflate"] for p in parts)
    return merged


# --- the hub -------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_plugin() -> str:
    """The SMS webhook channel exactly as docs/plugins.md prints it."""
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: webhook_sms -->\s*```python\n(.*?)```", guide, re.S)
    if match is None:
        raise SystemExit("docs/plugins.md lost its webhook_sms example")
    return match.group(1)


def write_config(folder: Path, port: int, gateway: str) -> Path:
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "bench_webhook_sms.py").write_text(webhook_plugin(), encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f'plugin_paths = ["{plugins}"]\n\n'
        f'[http]\nhost = "127.0.0.1"\nport = {port}\n\n'
        '[[channels]]\nplugin = "webhook-sms"\nname = "sms"\n'
        f'send_url = "{gateway}/v1/messages"\ntoken = "bench"\n',
        encoding="utf-8",
    )
    return config


async def add_agents(store: Path, count: int) -> list[str]:
    """``count`` agents on the store, through the desk's API in this process; their tokens."""
    from agentdesk.api import Role
    from agentdesk.api import requests as rq
    from agentdesk.core.desk import Desk
    from agentdesk.core.desk.desk import DESK_ACTOR
    from agentdesk.store import open_store

    opened = open_store(store)
    desk = Desk(opened)
    try:
        tokens = []
        for n in range(count):
            request = rq.AddAgent(name=f"agent{n:04d}", role=Role.AGENT)
            tokens.append((await desk.handle(DESK_ACTOR, request)).token)
        return tokens
    finally:
        await desk.read(opened.close)
        desk.close()


class Gateway:
    """The SMS gateway the channel sends replies to, in this process's loop."""

    def __init__(self) -> None:
        from agentdesk.plugin.serving import EmbeddedServer

        self.server = EmbeddedServer()
        self.server.add_route("/v1/messages", self.send, methods=("POST",))
        self.sent = 0

    async def send(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        await request.body()
        self.sent += 1
        return JSONResponse({"id": f"gw-{self.sent}"})


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> list[int] | None:
    """The machine's CPU time counters (Linux ``/proc/stat``)."""
    try:
        with open("/proc/stat") as stat:
            return [int(n) for n in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def idle_share(before: list[int] | None, after: list[int] | None) -> float | None:
    """The share of the machine's CPU time left idle in between (idle and iowait)."""
    if before is None or after is None:
        return None
    total = sum(after) - sum(before)
    idle = after[3] + after[4] - before[3] - before[4]
    return idle / total if total else None


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Ingest:
    sent: int = 0
    failed: int = 0
    #: Posts not answered (frames not sent) ``GRACE_SECONDS`` after the schedule ended.
    abandoned: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


async def paced(rate: float, seconds: float, act: Any) -> tuple[int, int, float]:
    """``act(n)`` at ``rate`` a second on a fixed schedule for ``seconds``: (done, due,
    seconds). A late tick runs at once; ticks still due ``GRACE_SECONDS`` after the end are
    dropped. Each tick yields to the loop, so a run behind schedule still reads its sockets."""
    began = time.perf_counter()
    due = int(rate * seconds)
    done = 0
    for n in range(due):
        now = time.perf_counter()
        if now - began > seconds + GRACE_SECONDS:
            break
        await asyncio.sleep(max(0.0, began + n / rate - now))
        act(n)
        done += 1
    return done, due, max(time.perf_counter() - began, due / rate)


class Poster:
    """JSON posts over a few kept-alive HTTP/1.1 connections.

    httpx took 1.4 ms of CPU a post here (3.7 ms with 16 in flight): at 100 a
    second, a third of a core taken from the hub's machine. This takes a
    few hundredths of that.
    """

    def __init__(self, host: str, port: int, path: str, connections: int) -> None:
        self.host, self.port, self.path = host, port, path
        self.connections = connections
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.connections):
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def post(self, body: bytes) -> int:
        """The answer's status; a connection the server closed meanwhile is opened again."""
        reader, writer = await self.free.get()
        try:
            try:
                return await self._exchange(reader, writer, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                reader, writer = await asyncio.open_connection(self.host, self.port)
                return await self._exchange(reader, writer, body)
        finally:
            self.free.put_nowait((reader, writer))

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes
    ) -> int:
        head = (
            f"POST {self.path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        answer = await reader.readuntil(b"\r\n\r\n")
        lines = answer.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        await reader.readexactly(length)
        return int(lines[0].split()[1])

    async def close(self) -> None:
        while not self.free.empty():
            _, writer = self.free.get_nowait()
            writer.close()


#: Run before the hub's own code with ``--hub-nodelay``: its listening socket
#: gets TCP_NODELAY, which the connections it accepts inherit.
NODELAY_PRELUDE = """
import runpy, socket
create_server = socket.create_server
def with_nodelay(*args, **kwargs):
    sock = create_server(*args, **kwargs)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
socket.create_server = with_nodelay
runpy.run_module("agentdesk.cli", run_name="__main__", alter_sys=True)
"""


class HubServer:
    """``agentdesk serve`` on a throwaway store, and the webhook its customers post to."""

    label = "hub"

    def __init__(self, folder: Path, consoles: int, args: argparse.Namespace) -> None:
        self.folder = folder
        self.args = args
        self.port = free_port()
        self.gateway = Gateway()
        self.consoles = consoles
        self.tokens: list[str] = []
        self.url = f"ws://127.0.0.1:{self.port}/desk"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: Any = None

    async def start(self) -> None:
        import httpx

        self.tokens = await add_agents(self.folder / "store", self.consoles)
        gateway = await self.gateway.server.start()
        config = write_config(self.folder, self.port, gateway)
        start = ["-c", NODELAY_PRELUDE] if self.args.hub_nodelay else ["-m", "agentdesk.cli"]
        command = [sys.executable, *start, "--config", str(config)]
        command += ["--store", str(self.folder / "store"), "serve", "--port", str(self.port)]
        with (self.folder / "hub.log").open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT
            )
        self.http = httpx.AsyncClient(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the hub stopped at once:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.http.get(f"{self.base}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise SystemExit(f"the hub did not answer within 30 s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def published(self) -> int:
        text = (await self.http.get(f"{self.base}/metrics")).text
        found = re.search(r"^agentdesk_updates_total (\S+)$", text, re.M)
        return int(float(found.group(1))) if found else 0

    async def ingest(self, rate: float, seconds: float) -> Ingest:
        """Customer texts posted to the webhook at ``rate`` a second."""
        result = Ingest()
        posts: set[asyncio.Task[None]] = set()
        rng = random.Random(7)
        poster = Poster("127.0.0.1", self.port, "/channels/sms/inbound", POSTS_AT_ONCE)
        await poster.open()
        run = f"{time.time_ns():x}"
        start = time.time()

        async def post(n: int) -> None:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24)))
            # Stamped with its time on the schedule: a post that waits for a slow hub counts.
            body = {
                "from": f"+3361{n % self.args.customers:07d}",
                "text": f"load {n} {start + n / rate:.6f} {words}",
                "id": f"load-{run}-{n}",
            }
            try:
                status = await poster.post(json.dumps(body).encode())
                if status != 200:
                    raise RuntimeError(f"the webhook answered {status}")
                result.sent += 1
            except asyncio.CancelledError:
                result.abandoned += 1
                raise
            except Exception as exc:
                result.failed += 1
                result.errors.append(f"{type(exc).__name__}: {exc}")

        def fire(n: int) -> None:
            task = asyncio.create_task(post(n))
            posts.add(task)
            task.add_done_callback(posts.discard)

        began = time.perf_counter()
        *_, result.seconds = await paced(rate, seconds, fire)
        # A hub far behind is not waited for: the run stays bounded in time.
        if posts:
            await asyncio.wait(posts, timeout=GRACE_SECONDS)
        for task in list(posts):
            task.cancel()
        await asyncio.gather(*posts, return_exceptions=True)
        result.seconds = max(result.seconds, time.perf_counter() - began)
        await poster.close()
        return result

    async def answer_times(self) -> dict[str, float]:
        """The hub's own mean time to answer each kind of command, from its histogram."""
        text = (await self.http.get(f"{self.base}/metrics")).text
        pattern = r'^agentdesk_request_seconds_(sum|count)\{op="(\w+)",outcome="ok"\} (\S+)$'
        totals: dict[str, dict[str, float]] = {}
        for kind, op, value in re.findall(pattern, text, re.M):
            totals.setdefault(op, {})[kind] = float(value)
        return {op: t["sum"] / t["count"] for op, t in totals.items() if t.get("count")}

    def log_tail(self) -> str:
        path = self.folder / "hub.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    async def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.http is not None:
            await self.http.aclose()
        await self.gateway.server.stop()


# --- the baseline: bare fan-out ---------------------------------------------------------


def baseline_process(conn: Any) -> None:
    asyncio.run(bare_server(conn))


async def bare_server(conn: Any) -> None:
    """A plain websockets server speaking just enough of the protocol, broadcasting on cue."""
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    subscribed: set[Any] = set()
    published = 0

    async def handler(ws: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            await answer(ws)
        subscribed.discard(ws)

    async def answer(ws: Any) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "hello":
                welcome = {"type": "welcome", "agent": "x", "role": "agent", "teams": []}
                await ws.send(json.dumps({**welcome, "hub": "bare", "seq": 0, "protocol": 1}))
            elif frame["type"] == "subscribe":
                await ws.send(json.dumps({"type": "subscribed", "since": frame["since"]}))
                subscribed.add(ws)
            elif frame["type"] == "call":
                # Written at once, as the broadcasts are: an awaited send waits for a
                # drained buffer, which broadcasts (no backpressure) may not leave for seconds.
                broadcast([ws], json.dumps({"type": "result", "id": frame["id"], "value": None}))

    loop = asyncio.get_running_loop()
    # No keepalive: broadcasts have no backpressure, and behind a backlog of them a pong
    # comes late; the connection would be closed where the hub would only be slower.
    async with serve(handler, "127.0.0.1", 0, max_size=MAX_ANSWER, ping_interval=None) as server:
        conn.send(server.sockets[0].getsockname()[1])
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "published":
                conn.send(published)
            elif command[0] == "broadcast":
                _, rate, seconds, template, size = command
                frames = BareFrames(template, size)

                def send(n: int, frames: BareFrames = frames) -> None:
                    nonlocal published
                    broadcast(subscribed, frames.make(n))
                    published += 1

                conn.send(await paced(rate, seconds, send))
            else:
                return


class BareFrames:
    """Update frames like the hub's: a real one re-stamped, its text padded to ``size`` bytes."""

    def __init__(self, template: bytes, size: int) -> None:
        self.frame = json.loads(template)
        self.event = next(e for e in self.frame["update"]["events"] if e["kind"] == "message")
        self.words = self.event["text"].split(" ", 3)[-1]
        self.event["text"] = ""
        bare = len(self.make_text("", 0))
        self.pad = max(0, size - bare)

    def make_text(self, text: str, n: int) -> str:
        self.frame["update"]["seq"] = n
        self.event["text"] = text
        return json.dumps(self.frame, ensure_ascii=False, separators=(",", ":"))

    def make(self, n: int) -> str:
        now = time.time()
        self.event["at"] = now
        head = f"load {n} {now:.6f} "
        filler = (self.words + " ") * (self.pad // (len(self.words) + 1) + 1)
        return self.make_text(head + filler[: max(0, self.pad - len(head))], n)


class BareServer:
    """The baseline's server process, driven over a pipe."""

    label = "bare fan-out"

    def __init__(self, consoles: int, template: bytes, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.link, child = context.Pipe()
        self.proc = context.Process(target=baseline_process, args=(child,), daemon=True)
        self.tokens = ["adk_bare"] * consoles
        self.template = template
        self.size = size
        self.url = ""

    async def start(self) -> None:
        self.proc.start()
        port = await asyncio.to_thread(self.link.recv)
        self.url = f"ws://127.0.0.1:{port}/desk"

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    async def published(self) -> int:
        self.link.send(("published",))
        return int(await asyncio.to_thread(self.link.recv))

    async def answer_times(self) -> dict[str, float]:
        return {}

    async def ingest(self, rate: float, seconds: float) -> Ingest:
        self.link.send(("broadcast", rate, seconds, self.template, self.size))
        sent, due, took = await asyncio.to_thread(self.link.recv)
        return Ingest(sent=sent, abandoned=due - sent, seconds=took)

    async def stop(self) -> None:
        self.link.send(("stop",))
        await asyncio.to_thread(self.proc.join, 10)
        if self.proc.is_alive():
            self.proc.terminate()


# --- one measured run ------------------------------------------------------------------


@dataclass
class Run:
    label: str
    consoles: int
    connected: int
    connect_seconds: float
    ingest: Ingest
    published: int
    seconds: float
    cpu: float
    rss_mb: float
    clients: dict[str, Any]
    #: The server's own mean time to answer each kind of command, in seconds.
    answers: dict[str, float]
    #: CPU of this process (webhook posts, the SMS gateway), share of a core.
    driver_cpu: float
    #: The machine's idle share over the run (0: every core was busy).
    idle: float | None


async def quiet(server: Any, limit: float = 120.0) -> int:
    """The server's published count once it has held still for ``QUIET_SECONDS``."""
    deadline = time.monotonic() + limit
    last, since = await server.published(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = await server.published()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS:
            break
    return last


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def measure(server: Any, args: argparse.Namespace, rate: float) -> Run:
    """One server under ``rate`` updates' worth of traffic a second, with the consoles."""
    await server.start()
    clients = Clients(server.url, server.tokens, args)
    try:
        began = time.perf_counter()
        connected, failures = await clients.ready()
        connect_seconds = time.perf_counter() - began
        progress(
            f"{server.label} (pid {server.pid}): {connected} consoles subscribed"
            f" in {connect_seconds:.1f} s"
        )
        if failures:
            progress(f"{server.label}: {len(failures)}+ consoles failed: {failures[0]}")
        before = await quiet(server)
        cpu, driver, ticks = proc_cpu(server.pid), cpu_seconds(), machine_ticks()
        await clients.go()
        ingest = await server.ingest(rate, args.seconds)
        clients.halt()
        cpu = proc_cpu(server.pid) - cpu
        driver = (cpu_seconds() - driver) / ingest.seconds
        idle = idle_share(ticks, machine_ticks())
        progress(f"{server.label}: ingest done, waiting for the consoles")
        after = await quiet(server)
        seen = await clients.collect(after - before, settle_limit=60)
        rss = peak_rss_mb(server.pid)
        answers = await server.answer_times()
    finally:
        await server.stop()
        clients.close()
    return Run(
        server.label,
        len(server.tokens),
        connected,
        connect_seconds,
        ingest,
        after - before,
        ingest.seconds,
        cpu,
        rss,
        seen,
        answers,
        driver,
        idle,
    )


# --- the report ----------------------------------------------------------------------


def percentile(values: Any, q: float) -> float:
    if not len(values):
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def lost(run: Run) -> tuple[int, int, int]:
    """(updates lost, ingested messages lost, consoles missing any) over every console."""
    updates = run.clients["updates"]
    messages = run.clients["messages"]
    missing_consoles = run.consoles - len(updates)
    lost_updates = (
        sum(max(0, run.published - n) for n in updates) + missing_consoles * run.published
    )
    lost_messages = sum(max(0, run.ingest.sent - n) for n in messages)
    lost_messages += missing_consoles * run.ingest.sent
    short = sum(1 for n in updates if n < run.published) + missing_consoles
    return lost_updates, lost_messages, short


def figures(run: Run) -> dict[str, str]:
    c = run.clients
    lat, commands = c["latencies"], c["command_latencies"]
    lost_updates, lost_messages, short = lost(run)
    mean_frame = c["frame_bytes"] / c["frames"] if c["frames"] else 0
    client_cpu = " + ".join(f"{100 * share:.0f}" for share in c["cpu"])
    return {
        "consoles connected": f"{run.connected} / {run.consoles}",
        "connect, all consoles": f"{run.connect_seconds:.1f} s",
        "msg/s taken (bare: frames sent)": f"{run.ingest.sent / run.seconds:.1f}",
        "posts failed / abandoned (bare: frames)": f"{run.ingest.failed} / {run.ingest.abandoned}",
        "updates published (a second)": f"{run.published} ({run.published / run.seconds:.0f})",
        "update frames read /s (all consoles)": f"{c['frames'] / run.seconds:,.0f}",
        "mean update frame bytes": f"{mean_frame:,.0f}",
        "update latency p50 ms": f"{percentile(lat, 0.5):.1f}",
        "update latency p99 ms": f"{percentile(lat, 0.99):.1f}",
        "update latency max ms": f"{max(lat, default=float('nan')) * 1000:.1f}",
        "webhook post to console p99 ms": (
            f"{percentile(c['from_post'], 0.99):.1f}" if run.label == HubServer.label else ""
        ),
        "updates lost": f"{lost_updates}",
        "messages lost": f"{lost_messages}",
        "consoles short of updates": f"{short}",
        "resets / closed consoles": f"{c['resets']} / {len(c['closed'])}",
        "commands/s": f"{len(commands) / run.seconds:.1f}",
        "command p50 ms": f"{percentile(commands, 0.5):.1f}",
        "command p99 ms": f"{percentile(commands, 0.99):.1f}",
        "server's own answer, mean ms (reply / note)": " / ".join(
            f"{1000 * run.answers[op]:.1f}" if op in run.answers else "-"
            for op in ("reply", "note")
        ),
        "command errors / unanswered": f"{len(c['command_errors'])} / {c['commands_unanswered']}",
        "server CPU, % of one core": f"{100 * run.cpu / run.seconds:.0f}",
        "server peak RSS MB": f"{run.rss_mb:.0f}",
        "client processes CPU, % of a core each": client_cpu,
        "driver process CPU (posts, gateway), %": f"{100 * run.driver_cpu:.0f}",
        "machine idle during the run, %": "?" if run.idle is None else f"{100 * run.idle:.0f}",
    }


RATIO_ROWS = (
    "update latency p50 ms",
    "update latency p99 ms",
    "update latency max ms",
    "command p50 ms",
    "command p99 ms",
    "server CPU, % of one core",
    "server peak RSS MB",
)


def ratio(a: str, b: str) -> str:
    try:
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
    except ValueError:
        return ""
    return f"{x / y:.2f}" if y else ""


def machine() -> str:
    import websockets

    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as info:
        memory = f"{int(info.readline().split()[1]) / 1024**2:.0f} GB"
    return (
        f"cpus {os.cpu_count()}, RAM {memory}, python {sys.version.split()[0]},"
        f" websockets {websockets.__version__}"
    )


def report(hub: Run, bare: Run | None, args: argparse.Namespace) -> None:
    repliers = round(hub.consoles * args.repliers)
    deflate = "permessage-deflate" if hub.clients["deflate"] else "no compression"
    print(
        f"{hub.consoles} consoles ({repliers} repliers, a command each per"
        f" {args.command_interval:g} s), {args.rate:g} msg/s for {args.seconds:g} s,"
        f" {args.client_procs} client processes, {deflate}"
    )
    print(machine())
    hub_rows = figures(hub)
    bare_rows = figures(bare) if bare else {}
    print(f"{'':44} {'hub':>12} {'bare fan-out':>13} {'hub / bare':>11}")
    for name, value in hub_rows.items():
        other = bare_rows.get(name, "")
        both = ratio(value, other) if name in RATIO_ROWS and other else ""
        print(f"{name:44} {value:>12} {other:>13} {both:>11}")
    for run in (hub, bare) if bare else (hub,):
        for error in run.ingest.errors[:3] + run.clients["command_errors"][:3]:
            print(f"  {run.label}: error: {error}")
        for closed in sorted(set(run.clients["closed"]))[:3]:
            print(f"  {run.label}: a console {closed}")
    budget(hub, args)


def verdict(holds: bool) -> str:
    return "within" if holds else "OUTSIDE"


def budget(hub: Run, args: argparse.Namespace) -> None:
    p99 = percentile(hub.clients["latencies"], 0.99)
    missing = sum(lost(hub)[:2])
    taken = hub.ingest.sent / hub.seconds
    checks = [
        f"took {taken:.1f} of {args.rate:g} msg/s: {verdict(taken >= 0.99 * args.rate)}",
        f"p99 {p99:.0f} ms <= {BUDGET['p99_ms']:.0f}: {verdict(p99 <= BUDGET['p99_ms'])}",
        f"lost {missing} == 0: {verdict(not missing)}",
        f"RSS {hub.rss_mb:.0f} MB <= {BUDGET['rss_mb']:.0f}: "
        f"{verdict(hub.rss_mb <= BUDGET['rss_mb'])}",
    ]
    at_load = hub.consoles == BUDGET["consoles"] and args.rate == BUDGET["rate"]
    where = "" if at_load else " (the budget is set at 200 consoles x 100 msg/s; this run differs)"
    print(f"budget{where}: " + "; ".join(checks))


async def run(args: argparse.Namespace) -> None:
    # Stopped from outside (a timeout's SIGTERM), the run still stops its servers and clients.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    folder = Path(tempfile.mkdtemp(prefix="agentdesk-hub-load-"))
    hub_server = HubServer(folder, args.consoles, args)
    hub = await measure(hub_server, args, args.rate)
    progress(f"hub run done (its store and log: {folder})")
    bare = None
    if not args.no_baseline and hub.clients["sample"]:
        progress("the bare fan-out next")
        mean = hub.clients["frame_bytes"] // max(1, hub.clients["frames"])
        # The offered messages, plus the hub's other updates a second (commands, deliveries).
        rate = args.rate + max(0, hub.published - hub.ingest.sent) / hub.seconds
        bare = await measure(BareServer(args.consoles, hub.clients["sample"], mean), args, rate)
    report(hub, bare, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consoles", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="customer messages a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the ingest")
    parser.add_argument(
        "--repliers", type=float, default=0.1, help="share of consoles sending commands"
    )
    parser.add_argument(
        "--command-interval", type=float, default=2.0, help="seconds between a replier's commands"
    )
    parser.add_argument("--client-procs", type=int, default=2, help="client processes")
    parser.add_argument(
        "--customers", type=int, default=500, help="distinct senders (one task each)"
    )
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="what the consoles offer (deflate: as the agentdesk console does)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="the hub alone")
    parser.add_argument(
        "--hub-nodelay",
        action="store_true",
        help="what-if: the hub's sockets with TCP_NODELAY (its own listener leaves Nagle on)",
    )
    args = parser.parse_args()
    if args.compression == "none":
        args.compression = None
    try:
        asyncio.run(run(args))
    except asyncio.CancelledError:
        raise SystemExit("stopped before the end") from None


if __name__ == "__main__":
    main()
