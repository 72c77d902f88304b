"""Launch benchmark: `agentdesk search` and the console as a person starts them.

    .venv/bin/python bench/launch_bench.py                          # 100k tasks / 1M events
    .venv/bin/python bench/launch_bench.py --tasks 5000 --events 50000
    .venv/bin/python bench/launch_bench.py --baseline ../old        # and a previous checkout

On a store built by ``bench/dataset.py`` (in ``--dir``, kept and reused while
its marker file says it holds the same data: building 1M events takes
minutes), two measurements of the real commands, each in a new process:

1. ``python -m agentdesk.cli --config CONFIG search --json QUERY``: the wall
   time of the whole command for a few typical queries, several runs each,
   median and max; beside it, timed the same way, the interpreter alone
   (``python -c pass``) and ``import agentdesk.cli`` alone, and the heaviest
   imports of one search (``-X importtime``): where the time goes.
2. The console (``python -m agentdesk.cli --config CONFIG``, no channels)
   started in a detached tmux session of 160x48: the time from launching
   tmux's command until ``tmux capture-pane`` (polled every 10 ms) shows
   anything, then until the inbox shows task rows (``#`` and digits), over a
   few launches. A trivial command launched the same way (printing ``#1``)
   gives the floor tmux and the interpreter put under every figure.

``--baseline TREE`` runs both with another checkout (``PYTHONPATH=TREE:TREE/
plugins``, ``python -m agentdesk.cli`` from there) on the same data in that
checkout's format: built by ``TREE/bench/store_bench.py --role build --engine
TinyStore`` and indexed by its ``agentdesk reindex``. Old and new runs
alternate, so both see the same machine; the table shows them side by side
with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARKER = "BUILT.json"
# The console's inbox rows read "CHT #3633   Customer 1803": a task number.
ROW = re.compile(r"(?<![\w#])#\d+\b")
# Words of the dataset's WORDS list, a status filter and a customer filter.
QUERIES = ("refund", "invoice tracking", "status:open refund", "from:customer123")
SEARCH_BUDGET_S = 0.4  # at 1M messages
CONSOLE_BUDGET_S = 1.0  # at 100k tasks
POLL_S = 0.01
SIZE = ("160", "48")


@dataclass
class Tree:
    """A checkout of the project, run as ``python -m agentdesk.cli`` from its root."""

    label: str
    root: Path
    folder: Path  # where its store, config and console state go
    commit: str = ""
    built: dict = field(default_factory=dict)

    @property
    def store(self) -> Path:
        return self.folder / "store"

    @property
    def config(self) -> Path:
        return self.folder / "config.toml"

    @property
    def state(self) -> Path:
        return self.folder / "state"

    @property
    def env(self) -> dict[str, str]:
        path = f"{self.root}{os.pathsep}{self.root / 'plugins'}"
        return {**os.environ, "PYTHONPATH": path}

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "agentdesk.cli", "--config", str(self.config), *args]

    def run(self, command: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def write_config(self) -> None:
        lines = ['agent = "ana"', f"store = {json.dumps(str(self.store))}"]
        # The console keeps drafts and preferences in its state folder (when
        # this checkout has one): a folder of the benchmark's, emptied before
        # each launch, so every launch starts alike and the user's is untouched.
        config_code = self.root / "agentdesk" / "core" / "config.py"
        if '"state"' in config_code.read_text():
            lines.append(f"state = {json.dumps(str(self.state))}")
        self.config.write_text("\n".join(lines) + "\n")


def git_commit(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def git_dirty(root: Path) -> bool:
    """Whether the checkout's code differs from its commit (what runs is the files)."""
    done = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
         "agentdesk", "plugins"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return bool(done.stdout.strip())


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def check(done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise SystemExit(f"{what} failed (exit status {done.returncode}):\n{tail}")


# --- the stores ----------------------------------------------------------------


def prepare(tree: Tree, args: argparse.Namespace, old_format: bool) -> None:
    """Build the tree's store unless its marker says it holds this data already."""
    tree.folder.mkdir(parents=True, exist_ok=True)
    tree.write_config()
    marker = tree.folder / MARKER
    wanted: dict[str, object] = {"tasks": args.tasks, "events": args.events}
    if old_format:
        wanted["commit"] = tree.commit  # a release's format: built by that release
    if marker.exists() and not args.rebuild:
        built = json.loads(marker.read_text())
        if {k: built.get(k) for k in wanted} == wanted:
            tree.built = {**built, "reused": True}
            return
    marker.unlink(missing_ok=True)
    shutil.rmtree(tree.store, ignore_errors=True)
    print(f"building the {tree.label} store in {tree.store} ...", flush=True)
    started = time.perf_counter()
    sizes = ["--tasks", str(args.tasks), "--events", str(args.events)]
    if old_format:
        script = tree.root / "bench" / "store_bench.py"
        build = [sys.executable, str(script), "--role", "build", "--engine", "TinyStore"]
        check(tree.run([*build, "--path", str(tree.store), *sizes], timeout=7200), "build")
        built_s = time.perf_counter() - started
        # That release's search index is a file of its own beside the store.
        check(tree.run(tree.cli("reindex"), timeout=7200), "reindex")
    else:
        script = tree.root / "bench" / "dataset.py"
        check(tree.run([sys.executable, str(script), str(tree.store), *sizes], 7200), "build")
        built_s = time.perf_counter() - started
    tree.built = {
        **wanted,
        "build_s": built_s,
        "total_s": time.perf_counter() - started,
        "at": time.strftime("%Y-%m-%d %H:%M"),
    }
    marker.write_text(json.dumps(tree.built) + "\n")
    tree.built["reused"] = False


def describe(tree: Tree) -> str:
    built = tree.built
    how = (
        f"reused (built {built.get('at', '?')} in {built.get('total_s', 0):.0f} s)"
        if built.get("reused")
        else f"built now in {built['total_s']:.0f} s"
    )
    dirty = " with uncommitted changes" if git_dirty(tree.root) else ""
    return (
        f"{tree.label}: {tree.root} @ {tree.commit[:10]}{dirty}, store {tree.store} {how},"
        f" {size_mb(tree.store):,.0f} MB"
    )


# --- agentdesk search ----------------------------------------------------------


def wall(tree: Tree, command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = tree.run(command, timeout=300)
    return time.perf_counter() - started, done


def measure_search(trees: list[Tree], runs: int) -> dict:
    """Per tree: label -> wall times (s), and hits per query."""
    probes = {
        "python -c pass (interpreter)": [sys.executable, "-c", "pass"],
        "import agentdesk.cli": [sys.executable, "-c", "import agentdesk.cli"],
    }
    times: dict[str, dict[str, list[float]]] = {t.label: defaultdict(list) for t in trees}
    hits: dict[str, dict[str, int]] = {t.label: {} for t in trees}
    # A first run each, untimed: compiled bytecode and the page cache, as a
    # person's second search finds them.
    for tree in trees:
        for query in QUERIES:
            _, done = wall(tree, tree.cli("search", "--json", query))
            check(done, f"{tree.label}: agentdesk search {query!r}")
            hits[tree.label][query] = len(done.stdout.splitlines())
    for _ in range(runs):
        for name, command in probes.items():
            for tree in trees:
                seconds, done = wall(tree, command)
                check(done, f"{tree.label}: {name}")
                times[tree.label][name].append(seconds)
        for query in QUERIES:
            for tree in trees:
                seconds, done = wall(tree, tree.cli("search", "--json", query))
                check(done, f"{tree.label}: agentdesk search {query!r}")
                times[tree.label][query].append(seconds)
    return {"times": times, "hits": hits, "probes": list(probes)}


@dataclass
class Imported:
    """One line of ``-X importtime``: a module, its own and cumulative time (ms)."""

    name: str
    level: int
    own: float
    cumulative: float
    children: list[Imported] = field(default_factory=list)


@dataclass
class Imports:
    total: float  # ms, every module's own time
    packages: list[tuple[str, float]]  # the heaviest, own times summed by package
    chain: list[Imported]  # from the heaviest agentdesk module, its heaviest import, ...


def heaviest_imports(tree: Tree, count: int = 7) -> Imports:
    """One search under ``-X importtime``: where its imports spend their time.

    Each module's own time is summed by its top-level package (``agentdesk``
    split one level further); the chain follows, from the heaviest module of
    agentdesk imported first, the heaviest import inside each.
    """
    command = tree.cli("search", "--json", QUERIES[0])
    done = tree.run([command[0], "-X", "importtime", *command[1:]], timeout=300)
    check(done, f"{tree.label}: agentdesk search under -X importtime")
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    stack: list[Imported] = []  # lines come children first, a level deeper
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        name = name[1:]  # the space after the bar; then two per level
        module = Imported(
            name.strip(), len(name) - len(name.lstrip()), int(own) / 1000, int(cumulative) / 1000
        )
        while stack and stack[-1].level > module.level:
            module.children.insert(0, stack.pop())
        stack.append(module)
        parts = module.name.split(".")
        package = ".".join(parts[:2]) if parts[0] == "agentdesk" else parts[0]
        by_package[package] += module.own
        total += module.own
    top = sorted(by_package.items(), key=lambda item: -item[1])[:count]
    chain: list[Imported] = []
    ours = [m for m in stack if m.name.startswith("agentdesk")]
    step = max(ours, key=lambda m: m.cumulative, default=None)
    while step is not None and step.cumulative >= 10 and len(chain) < 9:
        chain.append(step)
        step = max(step.children, key=lambda m: m.cumulative, default=None)
    return Imports(total, top, chain)


# --- the console in tmux ---------------------------------------------------------


class Tmux:
    """A tmux server of our own (its own socket, no user config), for detached sessions."""

    def __init__(self) -> None:
        self.base = ["tmux", "-L", f"agentdesk-launch-bench-{os.getpid()}", "-f", "/dev/null"]
        # A session that holds the server up, so each launch finds it running.
        self.call("new-session", "-d", "-s", "hold", "-x", SIZE[0], "-y", SIZE[1], "sleep 86400")
        # A pane whose command ends stays, with what it printed (a crash's traceback).
        self.call("set-option", "-g", "remain-on-exit", "on")

    def call(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, check=False)


@dataclass
class Launch:
    first_paint: float | None = None  # anything on the screen
    rows: float | None = None  # task rows in the inbox
    error: str = ""


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        children[int(text.rsplit(")", 1)[1].split()[1])].append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def launch(
    tmux: Tmux, name: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> Launch:
    """Start ``command`` in a new session, poll the screen until it shows task rows."""
    shell = "exec env " + " ".join(
        shlex.quote(part) for part in [f"PYTHONPATH={env.get('PYTHONPATH', '')}", *command]
    )
    result = Launch()
    started = time.perf_counter()
    tmux.call("new-session", "-d", "-s", name, "-x", SIZE[0], "-y", SIZE[1], "-c", str(cwd), shell)
    pids: list[int] = []
    try:
        pane_pid = int(tmux.call("display-message", "-p", "-t", name, "#{pane_pid}").strip())
        deadline = started + timeout
        screen = ""
        while time.perf_counter() < deadline:
            polled = time.perf_counter()
            out = tmux.call(
                "capture-pane", "-p", "-t", name, ";", "display-message", "-p", "-t", name,
                "#{pane_dead}",
            )  # fmt: skip
            at = time.perf_counter() - started
            screen, _, dead = out.rstrip("\n").rpartition("\n")
            if result.first_paint is None and screen.strip():
                result.first_paint = at
            if ROW.search(screen):
                result.rows = at
                break
            if dead.strip() == "1":
                result.error = "the command ended: " + " / ".join(
                    line.strip() for line in screen.splitlines() if line.strip()
                )
                break
            time.sleep(max(0.0, POLL_S - (time.perf_counter() - polled)))
        else:
            result.error = f"no task rows after {timeout:.0f} s; the screen: " + " / ".join(
                line.strip() for line in screen.splitlines() if line.strip()
            )
        pids = descendants(pane_pid)
    finally:
        tmux.call("kill-session", "-t", name)
        wait_gone(pids)
    return result


def wait_gone(pids: list[int], timeout: float = 15) -> None:
    """Wait until the console and its children have exited (the store's lock with them)."""
    deadline = time.perf_counter() + timeout
    while any(alive(pid) for pid in pids):
        if time.perf_counter() > deadline:
            for pid in pids:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.perf_counter() + timeout
        time.sleep(0.02)


# What the console imports before its app can start (commands/console.py).
CONSOLE_IMPORTS = "import agentdesk.cli, agentdesk.core.runtime, agentdesk.tui.app"


def measure_console(
    trees: list[Tree], launches: int, timeout: float
) -> tuple[dict[str, list[Launch]], dict[str, list[float]]]:
    """Launches per tree (and the floor's), and the console's imports timed alone."""
    floor = [sys.executable, "-c", "print('#1'); import time; time.sleep(600)"]
    results: dict[str, list[Launch]] = defaultdict(list)
    imports: dict[str, list[float]] = defaultdict(list)
    tmux = Tmux()
    try:
        for n in range(launches):
            floored = launch(tmux, f"floor{n}", floor, REPO, dict(os.environ), timeout)
            results["floor"].append(floored)
            for tree in trees:
                took, done = wall(tree, [sys.executable, "-c", CONSOLE_IMPORTS])
                check(done, f"{tree.label}: {CONSOLE_IMPORTS}")
                imports[tree.label].append(took)
                shutil.rmtree(tree.state, ignore_errors=True)
                one = launch(tmux, f"{tree.label}{n}", tree.cli(), tree.root, tree.env, timeout)
                results[tree.label].append(one)
                if one.error:
                    print(f"  {tree.label} launch {n + 1}: {one.error[:600]}", flush=True)
                else:
                    print(
                        f"  {tree.label:8} launch {n + 1}: painted {one.first_paint:.2f} s,"
                        f" task rows {one.rows:.2f} s",
                        flush=True,
                    )
    finally:
        tmux.close()
    return results, imports


# --- the report ----------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def seconds(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.3f} s"


def ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}" if old and old == old and new == new else "—"


def report_search(trees: list[Tree], measured: dict, runs: int, events: int) -> None:
    times, hits, probes = measured["times"], measured["hits"], measured["probes"]
    new = trees[0]
    old = trees[1] if len(trees) > 1 else None
    print()
    print(
        f"`agentdesk search --json QUERY`, wall time of the whole command (a new process),"
        f" {runs} runs each after one untimed"
        + (", baseline and new alternating:" if old is not None else ":")
    )
    print()
    head = "| command | hits | new median | new max |"
    rule = "| --- | ---: | ---: | ---: |"
    if old is not None:
        head += " baseline median | baseline max | new / baseline |"
        rule += " ---: | ---: | ---: |"
    print(head)
    print(rule)
    for name in [*QUERIES, *probes]:
        is_query = name in QUERIES
        row = [f"`search {name}`" if is_query else name]
        count = str(hits[new.label][name]) if is_query else ""
        if old is not None and is_query and hits[old.label][name] != hits[new.label][name]:
            count += f" (baseline {hits[old.label][name]})"
        row.append(count)
        new_times = times[new.label][name]
        row += [seconds(median(new_times)), seconds(max(new_times))]
        if old is not None:
            old_times = times[old.label][name]
            row += [seconds(median(old_times)), seconds(max(old_times))]
            row.append(ratio(median(new_times), median(old_times)))
        print("| " + " | ".join(row) + " |")
    print()
    for tree in trees:
        imports = heaviest_imports(tree)
        tree_times = times[tree.label]
        interpreter = median(tree_times[probes[0]])
        imported = median(tree_times[probes[1]])
        searches = median([t for q in QUERIES for t in tree_times[q]])
        print(
            f"Where the time goes ({tree.label}): a search takes {searches:.3f} s (median of all"
            f" queries); the interpreter alone {interpreter:.3f} s, `import agentdesk.cli`"
            f" {imported:.3f} s (interpreter included), so opening the store, searching and"
            f" printing take about {max(0.0, searches - imported):.3f} s. Under `-X importtime` one"
            f" search spends {imports.total / 1000:.3f} s importing, most in: "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in imports.packages)
            + " (each module's own time, summed by package); the heaviest chain"
            " (cumulative): "
            + " > ".join(f"{m.name} {m.cumulative:.0f} ms" for m in imports.chain)
            + "."
        )
        print()
    worst = max(median(times[new.label][q]) for q in QUERIES)
    verdict = "within" if worst <= SEARCH_BUDGET_S else "OUTSIDE"
    at = "" if events >= 1_000_000 else f" (measured at {events:,} events)"
    print(
        f"budget: `agentdesk search` <= {SEARCH_BUDGET_S} s at 1M messages: {verdict},"
        f" slowest query's median {worst:.3f} s{at}"
    )


def report_console(
    trees: list[Tree], results: dict[str, list[Launch]], imports: dict[str, list[float]], tasks: int
) -> None:
    print()
    print(
        f"Console launched in a detached tmux session ({SIZE[0]}x{SIZE[1]}), screen polled every"
        f" {POLL_S * 1000:.0f} ms, time from launching tmux's command; {len(results['floor'])}"
        " launches each, one of each in turn:"
    )
    print()
    print(
        "| command | painted median | task rows median | rows min | rows max | rows - floor"
        " | its imports alone, median |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    floor_rows = median([r.rows for r in results["floor"] if r.rows is not None])
    labels = {"floor": "floor: `python -c \"print('#1')\"`"}
    for tree in trees:
        labels[tree.label] = f"{tree.label}: `python -m agentdesk.cli` ({tree.root})"
    medians = {}
    for key, label in labels.items():
        launches = results[key]
        rows = [r.rows for r in launches if r.rows is not None]
        painted = [r.first_paint for r in launches if r.first_paint is not None]
        failed = len(launches) - len(rows)
        medians[key] = median(rows)
        cells = [
            label + (f" ({failed} failed)" if failed else ""),
            seconds(median(painted)),
            seconds(median(rows)),
            seconds(min(rows, default=None)),
            seconds(max(rows, default=None)),
            "" if key == "floor" else seconds(median(rows) - floor_rows),
            seconds(median(imports[key])) if key in imports else "",
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"(painted: the first capture with anything on the screen; task rows: the first with"
        f' `#` and digits; its imports alone: `python -c "{CONSOLE_IMPORTS}"` timed outside'
        " tmux, what the console loads before its app starts)"
    )
    if len(trees) > 1:
        new, old = medians[trees[0].label], medians[trees[1].label]
        print(
            f"new / baseline, task rows: {ratio(new, old)}"
            f" (floor subtracted: {ratio(new - floor_rows, old - floor_rows)})"
        )
    new = medians[trees[0].label]
    verdict = "within" if new <= CONSOLE_BUDGET_S else "OUTSIDE"
    at = "" if tasks >= 100_000 else f" (measured at {tasks:,} tasks)"
    print(
        f"budget: console shows task rows <= {CONSOLE_BUDGET_S} s after launch at 100k tasks:"
        f" {verdict}, median {seconds(new)}{at}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "agentdesk-launch-bench",
        help="where the stores are built and kept for the next run (default: %(default)s)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the stores even if present")
    parser.add_argument("--runs", type=int, default=5, help="timed searches per query")
    parser.add_argument("--launches", type=int, default=5, help="console launches")
    parser.add_argument(
        "--launch-timeout",
        type=float,
        default=120.0,
        help="seconds a console launch may take to show task rows before it counts as failed",
    )
    parser.add_argument("--only", choices=("search", "console"), help="one of the two measurements")
    parser.add_argument("--baseline", type=Path, help="another checkout to run beside")
    args = parser.parse_args()
    # Stopped by a signal, still end the tmux server and consoles it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    data = args.dir.resolve() / f"{args.tasks}-{args.events}"
    trees = [Tree("new", REPO, data / "new", git_commit(REPO))]
    if args.baseline:
        root = args.baseline.resolve()
        commit = git_commit(root)
        trees.append(Tree("baseline", root, data / f"baseline-{commit[:12]}", commit))
    python = sys.version.split()[0]
    print(
        f"# launch bench: {args.tasks:,} tasks / {args.events:,} events;"
        f" {os.cpu_count()} CPUs; python {python}",
        flush=True,
    )
    for tree in trees:
        prepare(tree, args, old_format=tree.label == "baseline")
        print(describe(tree), flush=True)
    if args.only != "console":
        print("timing agentdesk search ...", flush=True)
        measured = measure_search(trees, args.runs)
        report_search(trees, measured, args.runs, args.events)
    if args.only != "search":
        if shutil.which("tmux") is None:
            print("\nconsole: tmux is not installed, measurement skipped")
            return
        print("\nlaunching the console in tmux ...", flush=True)
        results, imports = measure_console(trees, args.launches, args.launch_timeout)
        report_console(trees, results, imports, args.tasks)


if __name__ == "__main__":
    main()
