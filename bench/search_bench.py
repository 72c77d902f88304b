"""Search benchmark: the store's search beside stock TinyDB and PostgreSQL ILIKE.

Generates a seeded corpus (100k tasks / ~1M messages at --scale 1, French and
English words with accents, customers with emails and phone numbers), writes
it into a SqliteStore (its search index in the same file and transactions) in
large groups, then times a fixed mix of queries through ``store.search`` (the
text parsed, a page of 50 hits with snippets), on a stock TinyDB regex scan
over the same messages, and on PostgreSQL ILIKE over the same rows (the way
Chatwoot searches), side by side. Reported: build time and size on disk, and
each query's p50 and p95.

    .venv/bin/python bench/search_bench.py                # full size
    .venv/bin/python bench/search_bench.py --scale 0.1    # 10k tasks / ~100k messages
    .venv/bin/python bench/search_bench.py --baseline ../old   # and a previous checkout

``--baseline TREE`` also runs ``TREE/bench/search_bench.py`` (same scale and
runs, without PostgreSQL and TinyDB) in its own process with ``PYTHONPATH``
on that tree, reads its per-query figures from what it prints and shows them
beside: the same corpus and queries on that checkout's index, in the same run.

PostgreSQL runs in a throwaway cluster on loopback when its binaries are
installed (Debian: /usr/lib/postgresql/*/bin); otherwise that column is skipped.
TinyDB is timed on a subset of the messages when it would take too long on all
of them, and the figure extrapolated to the full corpus is labelled as such.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentdesk.domain import (
    CallRecord,
    Customer,
    Direction,
    Identity,
    Message,
    Note,
    Priority,
    Status,
    Task,
)
from agentdesk.search import SearchPage, parse_query
from agentdesk.store import Batch
from agentdesk.store.sqlite_store import FILE_NAME, SqliteStore


def _words(text: str) -> list[str]:
    return text.split()


NOW = 1_735_689_600.0  # 2025-01-01, the corpus's "today"
YEAR = 365 * 86400
ME = "ana"  # the agent searching
BUDGET_MS = 20.0  # p50 of a typical query at 1M messages

FRENCH = _words(
    "bonjour merci je vous nous le la les de du des un une et est pas pour avec mon ma mes"
    " votre notre commande livraison remboursement rembourser remboursé colis reçu problème"
    " facture abonnement compte carte paiement retard adresse numéro téléphone réponse demande"
    " service client produit échange retour garantie délai semaine hier aujourd'hui demain très"
    " bien encore toujours déjà depuis après avant cordialement madame monsieur équipe désolé"
    " accès connexion erreur écran application résilier résiliation prélèvement expédié"
    " endommagé cassé manquant suivi transporteur entrepôt récupérer envoyé reçue été fenêtre"
    " télécharger mise jour nouvelle ancienne élevé tarif offre promotion code réduction"
)
ENGLISH = _words(
    "hello thanks the you we a an is not for with my your our order delivery refund refunded"
    " parcel received problem invoice subscription account card payment late address number"
    " phone answer request customer product exchange return warranty week yesterday today"
    " tomorrow very still already since after before regards team sorry access login error"
    " screen app cancel cancellation charge shipped damaged broken missing tracking carrier"
    " warehouse pick sent window download update new old price offer discount"
)
PHRASES = ("mot de passe", "numéro de commande", "tracking number", "pas encore reçu")
SYLLABLES = _words(
    "ba bé ca cé da dé fa fè ga la lé ma mè na né pa pé ra ré sa sé ta té va vé ço lu mi no po"
    " ri su to vu ka ki ko ze zi zo gué qui"
)
FIRST = _words(
    "Élodie Hélène François Jérôme Loïc Zoé Cécile Anaïs Noël Léa Chloé Raphaël Inès Maëlle"
    " Jean Marie Pierre Sophie Lucas Emma John Mary James Sarah David Laura Mike Anna"
)
LAST = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Lefèvre Girard"
    " Bonnet Dupont Lambert Fontaine Rousseau Müller Smith Johnson Brown Garcia"
)
CHANNELS = (
    ("support-mail", "email"),
    ("web-chat", "chat"),
    ("sms-fr", "sms"),
    ("facebook", "social"),
    ("phone-fr", "phone"),
)
AGENTS = [f"agent{i}" for i in range(30)]
TEAMS = ["billing", "logistics", "tech", None]
TAGS = ["vip", "urgent", "b2b", "fraud", "feedback", "bug"]


@dataclass(frozen=True)
class BenchQuery:
    """One query of the mix, in agentdesk's language and as plain parts for the others."""

    label: str
    text: str
    words: tuple[str, ...] = ()  # each must occur in some message of the task
    prefix: bool = False
    filters: tuple[tuple[str, object], ...] = ()  # (task field, value)
    phone: str = ""  # digits the customer's phone number must contain


class Corpus:
    """A seeded generator of customers, tasks and events."""

    def __init__(self, tasks: int, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.n_tasks = tasks
        self.n_customers = max(1, int(tasks / 2.5))
        tail = sorted(
            {
                "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))
                for _ in range(30000)
            }
        )
        self.rng.shuffle(tail)
        self.words = FRENCH + ENGLISH + tail
        # Zipf-like: the n-th word is used about 1/n as often as the first.
        weights = [1.0 / (rank + 1) for rank in range(len(self.words))]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.rare_word = tail[12000]
        self.messages = 0

    def text(self) -> str:
        rng = self.rng
        words = rng.choices(self.words, cum_weights=self.cumulative, k=rng.randint(6, 30))
        if rng.random() < 0.05:
            words.insert(rng.randrange(len(words) + 1), rng.choice(PHRASES))
        sentence = " ".join(words)
        return sentence[0].upper() + sentence[1:] + rng.choice(".!?")

    def customers(self) -> list[Customer]:
        rng = self.rng
        out = []
        for i in range(self.n_customers):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            phone = "+33 6 " + " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
            identities = [Identity.of("email", f"{first}.{last}{i}@example.fr")]
            if rng.random() < 0.7:
                identities.append(Identity.of("phone", phone))
            out.append(Customer(id=f"C{i:07d}", name=f"{first} {last}", identities=identities))
        return out

    def tasks(self, customers: list[Customer]) -> Iterator[tuple[Task, list]]:
        rng = self.rng
        for number in range(1, self.n_tasks + 1):
            customer = rng.choice(customers)
            channel, kind = rng.choice(CHANNELS)
            start = NOW - rng.random() * 2 * YEAR
            events: list = []
            at = start
            for j in range(min(60, max(1, round(rng.expovariate(1 / 10.3))))):
                at += rng.random() * 4 * 3600
                eid = f"E{number:07d}{j:03d}"
                common = {"id": eid, "task_id": f"T{number:07d}", "customer_id": customer.id}
                roll = rng.random()
                if roll < 0.05:
                    events.append(Note(**common, at=at, actor=rng.choice(AGENTS), text=self.text()))
                elif kind == "phone" and roll < 0.3:
                    events.append(
                        CallRecord(
                            **common,
                            at=at,
                            direction=Direction.INBOUND,
                            channel=channel,
                            summary=self.text(),
                        )
                    )
                else:
                    inbound = j % 2 == 0
                    events.append(
                        Message(
                            **common,
                            at=at,
                            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                            channel=channel,
                            channel_kind=kind,
                            text=self.text(),
                            actor="customer" if inbound else rng.choice(AGENTS),
                        )
                    )
            self.messages += len(events)
            age = NOW - at
            status = (
                Status.CLOSED
                if age > 14 * 86400 or rng.random() < 0.5
                else rng.choice([Status.OPEN, Status.PENDING])
            )
            task = Task(
                id=f"T{number:07d}",
                number=number,
                customer_id=customer.id,
                customer_name=customer.name,
                status=status,
                channel=channel,
                channel_kind=kind,
                subject=self.text()[:60],
                preview=getattr(events[-1], "text", "") or getattr(events[-1], "summary", ""),
                priority=rng.choice(list(Priority)),
                tags=rng.sample(TAGS, rng.choice([0, 0, 0, 1, 2])),
                assignee=rng.choice([*AGENTS, None, None]),
                team=rng.choice(TEAMS),
                created_at=start,
                updated_at=at,
                waiting_since=at if status == Status.OPEN and rng.random() < 0.6 else None,
                unread=status == Status.OPEN and rng.random() < 0.3,
            )
            yield task, events

    def queries(self) -> list[BenchQuery]:
        july = dt.datetime(2024, 7, 1).timestamp()
        return [
            BenchQuery("rare word", self.rare_word, (self.rare_word,)),
            BenchQuery("common word", "merci", ("merci",)),
            BenchQuery("two words", "remboursement colis", ("remboursement", "colis")),
            BenchQuery("phrase", '"mot de passe"', ("mot de passe",)),
            BenchQuery("prefix", "rembours*", ("rembours",), prefix=True),
            BenchQuery(
                "filter only",
                "status:closed priority:high tag:vip",
                filters=(("status", "closed"), ("priority", "high"), ("tag", "vip")),
            ),
            BenchQuery(
                "filter + words",
                "channel:email after:2024-07-01 livraison",
                ("livraison",),
                filters=(("channel_kind", "email"), ("after", july)),
            ),
            # The others compare digits as stored (+336...); "6123" is what
            # "06 12 3" becomes without its trunk 0.
            BenchQuery("phone fragment", 'from:"06 12 3"', phone="6123"),
        ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def corpus_batches(corpus: Corpus, customers: list[Customer], size: int = 2_000) -> Iterator[Batch]:
    """The corpus's tasks and events in batches of about ``size`` events."""
    batch = Batch()
    for task, events in corpus.tasks(customers):
        batch.tasks.append(task)
        batch.events.extend(events)
        if len(batch.events) >= size:
            yield batch
            batch = Batch()
    if batch:
        yield batch


def build_store(corpus: Corpus, directory: Path) -> tuple[float, float]:
    """Write the corpus into a new ``SqliteStore`` in ``directory``, in large groups.

    Returns the seconds taken in all and those spent writing (inside the
    store's groups, generating the corpus left out).
    """
    started = time.perf_counter()
    writing = 0.0
    store = SqliteStore.open(directory)
    try:
        customers = corpus.customers()
        began = time.perf_counter()
        store.commit(Batch(customers=customers))
        writing += time.perf_counter() - began
        pending = corpus_batches(corpus, customers)
        # One transaction per 25 batches (some 50,000 events), as bulk loads do.
        while group := list(islice(pending, 25)):
            began = time.perf_counter()
            with store.group() as writer:
                for batch in group:
                    writer.apply(batch)
            writing += time.perf_counter() - began
    finally:
        began = time.perf_counter()
        store.close()  # checkpoints the log into the file
        writing += time.perf_counter() - began
    return time.perf_counter() - started, writing


def store_size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.glob(f"{FILE_NAME}*")) / 1e6


def search_call(store: SqliteStore, q: BenchQuery) -> Callable[[], SearchPage]:
    """One search as the console runs it: the text parsed, one page of 50 with snippets."""
    return lambda: store.search(parse_query(q.text), me=ME, now=NOW, limit=50)


# --- stock TinyDB ---------------------------------------------------------------


class TinyEngine:
    """Stock TinyDB (default JSON storage, no caching middleware): regex scans."""

    def __init__(self, path: Path, store: SqliteStore, max_messages: int) -> None:
        from tinydb import TinyDB

        tasks, messages = [], []
        for task in sorted(store.tasks(), key=lambda t: t.number):
            events = [
                {"task": task.id, "text": getattr(e, "text", "") or getattr(e, "summary", "")}
                for e in store.events_of_task(task.id)
            ]
            if len(messages) + len(events) > max_messages:
                break
            messages.extend(events)
            tasks.append(
                {
                    "id": task.id,
                    "status": str(task.status),
                    "priority": str(task.priority),
                    "tags": task.tags,
                    "channel_kind": task.channel_kind,
                    "customer": task.customer_id,
                    "updated_at": task.updated_at,
                }
            )
        customers = [
            {"id": c.id, "phone": next((i.value for i in c.identities if i.kind == "phone"), "")}
            for c in store.customers()
        ]
        self.messages = len(messages)
        self.db = TinyDB(path)
        self.db.table("tasks").insert_multiple(tasks)
        self.db.table("messages").insert_multiple(messages)
        self.db.table("customers").insert_multiple(customers)

    def run(self, q: BenchQuery) -> int:
        from tinydb import where

        tables = [self.db.table(name) for name in ("tasks", "messages", "customers")]
        for table in tables:
            table.clear_cache()
        tasks_t, messages_t, customers_t = tables
        ids = None
        for word in q.words:
            pattern = r"\b" + re.escape(word) + ("" if q.prefix else r"\b")
            found = {m["task"] for m in messages_t.search(where("text").search(pattern, re.I))}
            ids = found if ids is None else ids & found
        people = None
        if q.phone:
            people = {c["id"] for c in customers_t.search(where("phone").search(q.phone))}
        conditions = []
        for field, value in q.filters:
            if field == "tag":
                conditions.append(where("tags").any([value]))
            elif field == "after":
                conditions.append(where("updated_at") >= value)
            else:
                conditions.append(where(field) == value)
        if ids is not None:
            conditions.append(where("id").test(lambda v: v in ids))
        if people is not None:
            conditions.append(where("customer").test(lambda v: v in people))
        if conditions:
            cond = conditions[0]
            for more in conditions[1:]:
                cond = cond & more
            rows = tasks_t.search(cond)
        else:
            rows = tasks_t.all()
        rows.sort(key=lambda t: -t["updated_at"])
        return len(rows)


# --- PostgreSQL -----------------------------------------------------------------


class Postgres:
    """A throwaway PostgreSQL cluster on loopback in a temp directory."""

    def __init__(self, bin_dir: Path, work: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="pg-", dir=work))
        self.dir.chmod(0o755)
        # PostgreSQL refuses to run as root: run it as the postgres user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.dir, "postgres")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        data = self.dir / "data"
        self._run(self.bin / "initdb", "-D", data, "-U", "bench", "-A", "trust", "--no-sync")
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c shared_buffers=512MB -c work_mem=64MB -c max_parallel_workers_per_gather=2"
        )
        self._run(
            self.bin / "pg_ctl", "-D", data, "-o", options, "-l", self.dir / "log", "-w", "start"
        )

    @staticmethod
    def find() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        return found[-1].parent if found else None

    def _run(self, *args: object, stdin: str | None = None) -> str:
        command = [*self.prefix, *(str(a) for a in args)]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
        return done.stdout

    def psql(self, *args: str, stdin: str | None = None) -> str:
        return self._run(
            self.bin / "psql",
            "-X",
            "-q",
            "-h",
            self.dir,
            "-p",
            self.port,
            "-U",
            "bench",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            *args,
            stdin=stdin,
        )

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresEngine:
    """Tasks and messages in PostgreSQL, searched with ILIKE the way Chatwoot does."""

    SCHEMA = """
    CREATE TABLE contacts(id text PRIMARY KEY, name text, email text, phone_number text);
    CREATE TABLE conversations(id text PRIMARY KEY, display_id int, status text,
        priority text, tags text[], channel_type text, assignee text,
        contact_id text, last_activity_at double precision);
    CREATE TABLE messages(id text, conversation_id text, content text,
        created_at double precision);
    """
    INDEXES = """
    CREATE INDEX ON messages(conversation_id);
    CREATE INDEX ON conversations(status);
    CREATE INDEX ON conversations(last_activity_at);
    CREATE INDEX ON conversations(contact_id);
    ANALYZE;
    """

    def __init__(self, pg: Postgres, store: SqliteStore) -> None:
        self.pg = pg
        pg.psql("-c", self.SCHEMA)
        self._copy(
            "contacts",
            (
                (
                    c.id,
                    c.name,
                    c.identities[0].value,
                    next((i.value for i in c.identities if i.kind == "phone"), ""),
                )
                for c in store.customers()
            ),
        )
        self._copy(
            "conversations",
            (
                (
                    t.id,
                    t.number,
                    str(t.status),
                    str(t.priority),
                    "{" + ",".join(t.tags) + "}",
                    t.channel_kind,
                    t.assignee or "",
                    t.customer_id,
                    t.updated_at,
                )
                for t in store.tasks()
            ),
        )
        self._copy(
            "messages",
            (
                (e.id, e.task_id, getattr(e, "text", "") or getattr(e, "summary", ""), e.at)
                for e in store.iter_events()
            ),
        )
        pg.psql("-c", self.INDEXES)

    def _copy(self, table: str, rows) -> None:
        path = self.pg.dir / f"{table}.csv"
        with path.open("w", newline="") as out:
            csv.writer(out).writerows(rows)
        path.chmod(0o644)
        self.pg.psql("-c", f"\\copy {table} FROM '{path}' WITH (FORMAT csv)")
        path.unlink()

    def sql(self, q: BenchQuery) -> str:
        where = []
        for word in q.words:
            pattern = "%" + word.replace("'", "''") + "%"
            where.append(
                "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
                f" AND m.content ILIKE '{pattern}')"
            )
        for field, value in q.filters:
            if field == "tag":
                where.append(f"'{value}' = ANY(c.tags)")
            elif field == "after":
                where.append(f"c.last_activity_at >= {value}")
            else:
                column = {"channel_kind": "channel_type"}.get(field, field)
                where.append(f"c.{column} = '{value}'")
        if q.phone:
            where.append(
                f"c.contact_id IN (SELECT id FROM contacts WHERE phone_number LIKE '%{q.phone}%')"
            )
        return (
            "SELECT c.id, count(*) OVER () FROM conversations c WHERE "
            + (" AND ".join(where) or "true")
            + " ORDER BY c.last_activity_at DESC LIMIT 50"
        )

    def time(self, q: BenchQuery, runs: int) -> tuple[list[float], int]:
        sql = self.sql(q)
        script = "\\timing on\n" + (sql + ";\n") * (runs + 1)
        out = self.pg.psql("-A", "-t", stdin=script)
        times = [float(m) for m in re.findall(r"Time: ([\d.]+) ms", out)][1:]
        first = next((line for line in out.splitlines() if "|" in line), "")
        total = int(first.split("|")[1]) if first else 0
        return times, total


def fmt(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def parse_fmt(text: str) -> float:
    """Milliseconds from what ``fmt`` printed ("12.3 ms", "1,234.5 ms", "12.3 s")."""
    number, unit = text.split()
    return float(number.replace(",", "")) * (1000 if unit == "s" else 1)


# One query's line as this benchmark prints it while it runs; the baseline's
# is read the same way, so keep its shape.
QUERY_LINE = re.compile(
    r"^  index  (?P<label>.+?)\s+(?P<total>[\d,]+\+?) matches"
    r"  p50 (?P<p50>[\d.,]+ m?s)  p95 (?P<p95>[\d.,]+ m?s)\s*$"
)


@dataclass
class Baseline:
    """What the same measurement printed in another checkout."""

    tree: Path
    seconds: float
    corpus: str = ""  # its "corpus: ..." line
    index: str = ""  # its line on the index's size and build time
    queries: dict[str, tuple[str, float, float]] = dataclasses.field(default_factory=dict)
    error: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k tasks, ~1M messages")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query (agentdesk)")
    parser.add_argument("--pg-runs", type=int, default=5, help="timed runs per query (PostgreSQL)")
    parser.add_argument("--tiny-runs", type=int, default=3, help="timed runs per query (TinyDB)")
    parser.add_argument(
        "--tinydb-max",
        type=int,
        default=100_000,
        help="messages TinyDB is timed on; its times are extrapolated to the whole corpus",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-tinydb", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout whose bench/search_bench.py runs beside (index columns only)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()

    temporary = args.dir is None
    work = args.dir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if temporary:
        work.chmod(0o755)  # PostgreSQL runs as its own user when this runs as root
    try:
        run(args, work)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    corpus = Corpus(int(100_000 * args.scale))
    print(f"# search bench, scale {args.scale}, work directory {work}", flush=True)

    directory = work / "store"
    shutil.rmtree(directory, ignore_errors=True)
    build_s, write_s = build_store(corpus, directory)
    size_mb = store_size_mb(directory)
    store = SqliteStore.open(directory)
    try:
        stats = store.stats()
        n_tasks = sum(stats.tasks_by_status.values())
        print(
            f"corpus: {n_tasks:,} tasks, {stats.events:,} messages, {stats.customers:,} customers",
            flush=True,
        )
        print(
            f"store build: {build_s:.0f} s ({write_s:.0f} s of it writing), {size_mb:,.0f} MB",
            flush=True,
        )

        queries = corpus.queries()
        table: dict[str, dict[str, object]] = {q.label: {} for q in queries}
        for q in queries:
            search = search_call(store, q)
            page = search()
            times = timed(search, args.runs)
            total = f"{page.total:,}" + ("" if page.total_exact else "+")
            table[q.label].update(index=times, total=total)
            print(
                f"  index  {q.label:15} {total:>8} matches  p50 {fmt(percentile(times, 0.5))}"
                f"  p95 {fmt(percentile(times, 0.95))}",
                flush=True,
            )
        tiny_note = run_tinydb(args, work, store, queries, table, stats.events)
        pg_note = run_postgres(args, work, store, queries, table)
    finally:
        store.close()
    baseline = run_baseline(args, work) if args.baseline else None
    report(args, stats, n_tasks, build_s, write_s, size_mb, queries, table, baseline)
    print()
    print(tiny_note)
    print()
    print(pg_note)


def run_baseline(args: argparse.Namespace, work: Path) -> Baseline:
    """This benchmark as another checkout has it (the same corpus and queries), its
    index columns only, in its own process: its figures, read from what it prints."""
    tree = args.baseline.resolve()
    folder = work / "baseline"
    folder.mkdir(exist_ok=True)
    command = [
        sys.executable,
        str(tree / "bench" / "search_bench.py"),
        "--scale",
        str(args.scale),
        "--runs",
        str(args.runs),
        "--no-postgres",
        "--no-tinydb",
        "--dir",
        str(folder),
    ]
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'plugins'}"}
    print(f"baseline: {' '.join(command)} (PYTHONPATH={env['PYTHONPATH']})", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree, check=False)
    result = Baseline(tree, time.perf_counter() - started)
    shutil.rmtree(folder, ignore_errors=True)
    for line in done.stdout.splitlines():
        if line.startswith("corpus: "):
            result.corpus = line.removeprefix("corpus: ").split(" (")[0]
        elif line.startswith(("index rebuild: ", "store build: ")):
            result.index = line
        elif match := QUERY_LINE.match(line):
            result.queries[match["label"]] = (
                match["total"],
                parse_fmt(match["p50"]),
                parse_fmt(match["p95"]),
            )
    if done.returncode or not result.queries:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        result.error = f"exit status {done.returncode}, no figures read. {tail}"
    print(f"baseline: done in {result.seconds:.0f} s", flush=True)
    for label, (total, p50, p95) in result.queries.items():
        print(f"  baseline  {label:15} {total:>8} matches  p50 {fmt(p50)}  p95 {fmt(p95)}")
    return result


def run_tinydb(args, work: Path, store, queries, table, n_messages: int) -> str:
    if args.no_tinydb:
        return "TinyDB: skipped (--no-tinydb)."
    start = time.perf_counter()
    tiny = TinyEngine(work / "tiny.json", store, args.tinydb_max)
    factor = n_messages / max(1, tiny.messages)
    print(
        f"tinydb: {tiny.messages:,} messages loaded in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    for q in queries:
        times = timed(lambda q=q: tiny.run(q), args.tiny_runs)
        table[q.label]["tiny"] = [t * factor for t in times]
        print(
            f"  tinydb {q.label:15} p50 {fmt(percentile(times, 0.5))} on the subset,"
            f" x{factor:.1f} = {fmt(percentile(times, 0.5) * factor)}",
            flush=True,
        )
    (work / "tiny.json").unlink()
    if factor > 1:
        return (
            f"TinyDB: timed on {tiny.messages:,} of the {n_messages:,} messages (its own file of"
            f" those tasks), times multiplied by {factor:.1f} to extrapolate (a scan is linear"
            " in the data); labelled *extrapolated*."
        )
    return "TinyDB: timed on the whole corpus."


def run_postgres(args, work: Path, store, queries, table) -> str:
    if args.no_postgres:
        return "PostgreSQL: skipped (--no-postgres)."
    bin_dir = Postgres.find()
    if bin_dir is None:
        print("postgres: no server installed, column skipped", flush=True)
        return "PostgreSQL: no server installed here (/usr/lib/postgresql/*/bin), column skipped."
    start = time.perf_counter()
    try:
        pg = Postgres(bin_dir, work)
    except RuntimeError as exc:
        print(f"postgres: did not start, column skipped: {exc}", flush=True)
        return f"PostgreSQL: the server in {bin_dir} did not start ({exc}), column skipped."
    try:
        engine = PostgresEngine(pg, store)
        version = pg.psql("-A", "-t", "-c", "SHOW server_version").strip()
        print(f"postgres {version}: loaded in {time.perf_counter() - start:.0f} s", flush=True)
        for q in queries:
            times, total = engine.time(q, args.pg_runs)
            table[q.label]["pg"] = times
            table[q.label]["pg_total"] = total
            print(
                f"  pg     {q.label:15} {total:>8} matches  p50 {fmt(percentile(times, 0.5))}",
                flush=True,
            )
    finally:
        pg.stop()
    return (
        f"PostgreSQL {version}: throwaway cluster on loopback, same tasks and messages,"
        " `content ILIKE '%word%'` per word with b-tree indexes as Chatwoot has (no trigram"
        " index), page of 50 newest with the total (`count(*) OVER ()`); timed with psql"
        " `\\timing`. ILIKE is neither accent-insensitive nor word-bounded, so its match counts"
        " differ."
    )


def report(args, stats, n_tasks, build_s, write_s, size_mb, queries, table, baseline) -> None:
    print()
    print(
        f"Corpus: {n_tasks:,} tasks, {stats.events:,} messages, {stats.customers:,} customers"
        f" (`--scale {args.scale}`). Built into a SqliteStore in groups of some 50,000 events"
        f" in {build_s:.0f} s ({write_s:.0f} s of it writing: store and search index, one"
        f" transaction per group); {size_mb:,.0f} MB on disk (`{FILE_NAME}`, its search index"
        " inside). Searches on the store as the console opens it: the query parsed, a page"
        f" of 50 with snippets, {args.runs} timed runs each."
    )
    if baseline is not None:
        print()
        if baseline.error:
            print(f"Baseline ({baseline.tree}): FAILED, {baseline.error}")
        else:
            same = (
                "the same corpus"
                if baseline.corpus == str_corpus(stats, n_tasks)
                else "a DIFFERENT corpus"
            )
            print(
                f"Baseline: {baseline.tree}/bench/search_bench.py in its own process, on"
                f" {same} ({baseline.corpus}), its index columns only; it says"
                f" `{baseline.index}` (that release's index is a file of its own, built"
                " from a store held in memory)."
            )
    print()
    head = "| query | agentdesk query | matches | store p50 | store p95 |"
    rule = "| --- | --- | ---: | ---: | ---: |"
    if baseline is not None:
        head += " baseline p50 | baseline p95 | p50 new / baseline |"
        rule += " ---: | ---: | ---: |"
    print(head + " PostgreSQL ILIKE p50 | TinyDB regex p50 |")
    print(rule + " ---: | ---: |")
    for q in queries:
        row = table[q.label]
        times = row["index"]
        p50 = percentile(times, 0.5)
        total = str(row["total"])
        cells = [q.label, "`" + q.text.replace("|", "\\|") + "`", total]
        cells += [fmt(p50), fmt(percentile(times, 0.95))]
        if baseline is not None:
            old = baseline.queries.get(q.label)
            if old is None:
                cells += ["—", "—", "—"]
            else:
                old_total, old_p50, old_p95 = old
                if old_total != total:
                    cells[2] = f"{total} (baseline {old_total})"
                ratio = f"{p50 / old_p50:.2f}" if old_p50 else "—"
                cells += [fmt(old_p50), fmt(old_p95), ratio]
        pg = fmt(percentile(row["pg"], 0.5)) if "pg" in row else "—"
        tiny = fmt(percentile(row["tiny"], 0.5)) if "tiny" in row else "—"
        if "tiny" in row and args.tinydb_max < stats.events:
            tiny += " (extrapolated)"
        print("| " + " | ".join([*cells, pg, tiny]) + " |")
    print()
    outside = [
        f"{q.label} {fmt(percentile(table[q.label]['index'], 0.5))}"
        for q in queries
        if percentile(table[q.label]["index"], 0.5) > BUDGET_MS
    ]
    verdict = "within for every query" if not outside else "OUTSIDE for " + ", ".join(outside)
    at = (
        ""
        if stats.events >= 1_000_000
        else f" (measured at {stats.events:,} messages: run `--scale 1` for the budget's size)"
    )
    print(f"budget: search <= {BUDGET_MS:.0f} ms p50 at 1M messages: {verdict}{at}")


def str_corpus(stats, n_tasks: int) -> str:
    return f"{n_tasks:,} tasks, {stats.events:,} messages, {stats.customers:,} customers"


if __name__ == "__main__":
    main()
