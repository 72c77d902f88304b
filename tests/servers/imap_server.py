"""A throwaway Dovecot IMAP server on 127.0.0.1 for tests.

Everything lives in a temporary directory: a generated ``dovecot.conf``
(plain-text login, no SSL, maildir), a passwd-file to which ``add_user``
appends, the mail, the logs and the runtime sockets. When running as root,
mail is owned by ``nobody`` (Dovecot refuses uid 0 for mail access); as any
other user, Dovecot runs entirely as that user.

The test side talks to the server with the standard library's ``imaplib``,
an implementation independent of the channel's own client.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Accounts made at start; each test takes a fresh one.
ACCOUNT_POOL = 100
DOVECOT_BINARIES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def find_dovecot() -> str | None:
    """The dovecot binary, or None when it is not installed."""
    found = shutil.which("dovecot")
    if found:
        return found
    return next((path for path in DOVECOT_BINARIES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ImapAccount:
    username: str
    password: str
    server: DovecotServer = field(repr=False)

    @contextlib.contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in imaplib session, logged out on exit."""
        connection = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.login(self.username, self.password)
            yield connection
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                connection.logout()

    def append(self, raw: bytes, mailbox: str = "INBOX", flags: str = "") -> None:
        """Put a message in a mailbox, as a delivery agent would."""
        with self.connect() as connection:
            if mailbox != "INBOX":
                connection.create(mailbox)
            status, detail = connection.append(mailbox, flags or None, None, raw)
        if status != "OK":
            raise RuntimeError(f"APPEND failed: {detail!r}")

    def uids(self, mailbox: str = "INBOX", criteria: str = "ALL") -> list[int]:
        with self.connect() as connection:
            status, data = connection.select(mailbox, readonly=True)
            if status != "OK":
                raise RuntimeError(f"SELECT {mailbox} failed: {data!r}")
            status, data = connection.uid("SEARCH", None, criteria)
        if status != "OK":
            raise RuntimeError(f"SEARCH failed: {data!r}")
        return [int(uid) for uid in data[0].split()] if data and data[0] else []


def make_certificate(folder: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 and localhost (the file is its own
    CA), or None when the openssl command is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class DovecotServer:
    binary: str
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="agentdesk-imap-")))
    port: int = 0
    #: Implicit-TLS port (IMAPS), when ``tls`` files were given; the plain port offers STARTTLS.
    tls_port: int = 0
    tls: tuple[Path, Path] | None = None
    process: subprocess.Popen[bytes] | None = None
    _accounts: list[ImapAccount] = field(default_factory=list)
    awkward: ImapAccount | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def start(self, attempts: int = 3) -> None:
        """Write the configuration and start the server; waits until it accepts logins."""
        mail_user, mail_group = _mail_owner()
        self.root.chmod(0o755)  # the mail user must reach its home below
        home = self.root / "home"
        home.mkdir(exist_ok=True)
        (self.root / "run").mkdir(exist_ok=True)
        (self.root / "state").mkdir(exist_ok=True)
        self._write_accounts()
        if os.geteuid() == 0:
            os.chown(home, pwd.getpwnam(mail_user).pw_uid, grp.getgrnam(mail_group).gr_gid)
        last_error = ""
        for _ in range(attempts):
            self.port = free_port()
            self.tls_port = free_port() if self.tls else 0
            (self.root / "dovecot.conf").write_text(self._config(mail_user, mail_group))
            self.process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, ended as one in stop()
            )
            last_error = self._wait_ready()
            if not last_error:
                return
            self.stop()
        raise RuntimeError(f"dovecot did not start: {last_error}")

    def _wait_ready(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                error = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                return f"exited with {self.process.returncode}: {error.strip()} {self._log_tail()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return ""
            except OSError:
                time.sleep(0.02)
        return f"no greeting on port {self.port} within {timeout:g} s {self._log_tail()}"

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _config(self, mail_user: str, mail_group: str) -> str:
        root = self.root
        lines = [
            f"base_dir = {root}/run",
            f"state_dir = {root}/state",
            f"log_path = {root}/dovecot.log",
            f"info_log_path = {root}/dovecot.log",
            "protocols = imap",
            "listen = 127.0.0.1",
            *self._ssl_settings(),
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "auth_failure_delay = 0",
            "verbose_proctitle = yes",  # session processes name their user: see disconnect()
            "mail_location = maildir:~/Maildir",
            "first_valid_uid = 1",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {root}/passwd",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={mail_user} gid={mail_group} home={root}/home/%u",
            "}",
            "service imap-login {",
            "  chroot =" if os.geteuid() != 0 else "",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            f"    port = {self.port}",
            "  }",
            "  inet_listener imaps {",
            "    address = 127.0.0.1",
            f"    port = {self.tls_port}",
            "    ssl = yes",
            "  }",
            "}",
        ]
        if os.geteuid() != 0:
            # Rootless Dovecot: every service runs as this user, and none chroots.
            user = pwd.getpwuid(os.geteuid()).pw_name
            lines += [
                f"default_login_user = {user}",
                f"default_internal_user = {user}",
                f"default_internal_group = {mail_group}",
                "service anvil {",
                "  chroot =",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def _ssl_settings(self) -> list[str]:
        if self.tls is None:
            return ["ssl = no"]
        cert, key = self.tls
        return ["ssl = yes", f"ssl_cert = <{cert}", f"ssl_key = <{key}"]

    def disconnect(self, username: str) -> int:
        """Drop every IMAP session of ``username`` as a server restart would: its
        session processes get SIGTERM, as ``doveadm kick`` and a restart send.
        (SIGKILL could land mid-write and leave a stale maildir lock that
        Dovecot only breaks after minutes.) Returns how many."""
        if self.process is None:
            return 0
        ended = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.process.pid:
                    continue
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ProcessLookupError):
                continue
            if "imap" in title and username in title:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGTERM)
                    ended += 1
        return ended

    def add_user(self) -> ImapAccount:
        """A fresh account with an empty mailbox, from the pool written at start
        (Dovecot notices passwd-file changes by mtime in whole seconds, so
        accounts added on the fly could be refused for up to a second)."""
        if not self._accounts:
            raise RuntimeError(f"all {ACCOUNT_POOL} test accounts are used; raise ACCOUNT_POOL")
        return self._accounts.pop(0)

    def _write_accounts(self) -> None:
        self._accounts = [
            ImapAccount(f"user-{n:03d}@example.test", uuid.uuid4().hex, self)
            for n in range(ACCOUNT_POOL)
        ]
        # One more with a password that needs quoting, escaping and UTF-8.
        self.awkward = ImapAccount("awkward@example.test", 'p"a\\ss wörd', self)
        accounts = [*self._accounts, self.awkward]
        lines = [f"{a.username}:{{PLAIN}}{a.password}\n" for a in accounts]
        (self.root / "passwd").write_text("".join(lines))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # The whole group at once: the master alone waits for its children.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _mail_owner() -> tuple[str, str]:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
    group = "nogroup"
    try:
        grp.getgrnam(group)
    except KeyError:
        group = "nobody"
    return "nobody", group
