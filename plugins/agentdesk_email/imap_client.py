"""A small asyncio IMAP client: what the email channel needs, nothing more.

Native asyncio rather than ``imaplib`` in a thread, so that IDLE can wait
for as long as the server is quiet without holding a thread, and ``stop``
is prompt (cancelling a read closes the connection).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .imap_protocol import (
    Response,
    Segment,
    encode_mailbox,
    fetch_items,
    literal_size,
    needs_literal,
    parse_response,
    quote,
    strip_literal_mark,
)

#: Longest response line we accept; literals (message bodies) are read apart.
MAX_LINE = 1 << 20
#: Largest literal we accept (a message body); bigger ones mean a broken server.
MAX_LITERAL = 512 << 20


class ImapError(Exception):
    """The server answered NO or BAD, or the connection broke."""


class _CommandRefused(ImapError):
    """A tagged NO or BAD: the command failed, the session is fine."""


class ImapAuthError(ImapError):
    """The server refused the user name or password."""


@dataclass(slots=True)
class MailboxStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int


class ImapClient:
    """One IMAP connection. Commands run one at a time (a lock guards them)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self._tag = 0
        self._lock = asyncio.Lock()
        self.capabilities: frozenset[str] = frozenset()
        #: Set when the server announced new mail (EXISTS) outside an IDLE wait.
        self.new_mail = False
        #: Set when a command was interrupted: the session's state is unknown.
        self.broken = False

    # -- connecting ----------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        security: str,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
    ) -> ImapClient:
        """Open the connection (``security``: "tls", "starttls" or "plain") and
        read the greeting. Raises OSError or ImapError."""
        use_tls = security == "tls"
        # asyncio.timeout, never wait_for: on Python 3.11 wait_for can swallow
        # a cancellation that races with completion, and stop() would hang.
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host,
                port,
                ssl=ssl_context if use_tls else None,
                server_hostname=host if use_tls else None,
                limit=MAX_LINE,
            )
        client = cls(reader, writer, timeout)
        try:
            async with asyncio.timeout(timeout):
                greeting = await client._read_response()
            if greeting.kind == "BYE":
                raise ImapError(f"server refused the connection: {greeting.text}")
            await client.refresh_capabilities()
            if security == "starttls":
                if "STARTTLS" not in client.capabilities:
                    raise ImapError("server does not offer STARTTLS")
                await client._command(b"STARTTLS")
                await writer.start_tls(
                    ssl_context or ssl.create_default_context(), server_hostname=host
                )
                await client.refresh_capabilities()
        except BaseException:
            client.close()
            raise
        return client

    async def login(self, username: str, password: str) -> None:
        """Log in with AUTHENTICATE PLAIN when offered (no quoting limits), else LOGIN."""
        try:
            if "AUTH=PLAIN" in self.capabilities and "SASL-IR" in self.capabilities:
                token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
                await self._command(b"AUTHENTICATE PLAIN " + token.encode("ascii"))
            else:
                await self._command(b"LOGIN ", _astring(username), b" ", _astring(password))
        except ImapError as exc:
            raise ImapAuthError(f"login refused for {username!r}: {exc}") from None
        await self.refresh_capabilities()

    async def refresh_capabilities(self) -> None:
        responses = await self._command(b"CAPABILITY")
        for response in responses:
            if response.kind == "CAPABILITY":
                self.capabilities = frozenset(str(item).upper() for item in response.data)

    # -- mailbox -------------------------------------------------------------

    async def select(self, mailbox: str, *, readonly: bool = False) -> MailboxStatus:
        verb = b"EXAMINE " if readonly else b"SELECT "
        responses = await self._command(verb + encode_mailbox(mailbox))
        uidvalidity = 0
        uidnext: int | None = None
        exists = 0
        for response in responses:
            word, _, value = response.code.partition(" ")
            if word.upper() == "UIDVALIDITY" and value.strip().isdigit():
                uidvalidity = int(value)
            elif word.upper() == "UIDNEXT" and value.strip().isdigit():
                uidnext = int(value)
            elif response.kind == "EXISTS" and response.number is not None:
                exists = response.number
        self.new_mail = False
        return MailboxStatus(uidvalidity, uidnext, exists)

    async def create(self, mailbox: str) -> None:
        """Create ``mailbox``; a mailbox that already exists is fine."""
        try:
            await self._command(b"CREATE " + encode_mailbox(mailbox))
        except ImapError as exc:
            if "ALREADYEXISTS" not in str(exc).upper() and "EXISTS" not in str(exc).upper():
                raise

    async def uid_search(self, criteria: str) -> list[int]:
        responses = await self._command(b"UID SEARCH " + criteria.encode("ascii"))
        uids: list[int] = []
        for response in responses:
            if response.kind == "SEARCH":
                uids.extend(int(item) for item in response.data if str(item).isdigit())
        return sorted(set(uids))

    async def uid_fetch(self, uid_set: str, items: str) -> dict[int, dict[str, Any]]:
        """FETCH ``items`` for the UIDs in ``uid_set``: {uid: {ITEM: value}}."""
        command = f"UID FETCH {uid_set} ({items})".encode("ascii")
        responses = await self._command(command)
        found: dict[int, dict[str, Any]] = {}
        for response in responses:
            if response.kind != "FETCH":
                continue
            values = fetch_items(response)
            uid = values.get("UID")
            if isinstance(uid, str) and uid.isdigit():
                found.setdefault(int(uid), {}).update(values)
        return found

    async def uid_store_flags(self, uid: int, flags: str) -> None:
        await self._command(f"UID STORE {uid} +FLAGS.SILENT ({flags})".encode("ascii"))

    async def uid_move(self, uid: int, mailbox: str) -> None:
        """Move one message: MOVE when offered, else COPY, flag deleted, expunge."""
        target = encode_mailbox(mailbox)
        if "MOVE" in self.capabilities:
            await self._command(f"UID MOVE {uid} ".encode("ascii") + target)
            return
        await self._command(f"UID COPY {uid} ".encode("ascii") + target)
        await self.uid_store_flags(uid, "\\Deleted")
        if "UIDPLUS" in self.capabilities:
            await self._command(f"UID EXPUNGE {uid}".encode("ascii"))
        else:
            await self._command(b"EXPUNGE")

    async def noop(self) -> bool:
        """Send NOOP; True when the server announced new mail meanwhile."""
        await self._command(b"NOOP")
        changed, self.new_mail = self.new_mail, False
        return changed

    async def idle(self, renew_after: float) -> bool:
        """Wait in IDLE until the server announces new mail (True) or
        ``renew_after`` seconds pass (False); IDLE ends before returning."""
        async with self._lock, self._guard():
            tag = self._next_tag()
            await self._send(tag + b" IDLE\r\n")
            first = await self._read_response()
            while first.tag == "*":  # untagged data may come before the "+"
                self._note(first)
                first = await self._read_response()
            if first.tag != "+":
                raise ImapError(f"IDLE refused: {first.kind} {first.text}")
            changed = self.new_mail
            loop = asyncio.get_running_loop()
            deadline = loop.time() + renew_after
            while not changed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        response = await self._read_response()
                except TimeoutError:
                    break
                self._note(response)
                changed = self.new_mail
            await self._send(b"DONE\r\n")
            await self._collect(tag)
            self.new_mail = False
            return changed

    async def logout(self) -> None:
        """Say goodbye when the session is in a known state, then close."""
        try:
            if not self.broken:
                async with asyncio.timeout(min(self._timeout, 2)):
                    await self._command(b"LOGOUT")
        except (ImapError, OSError, TimeoutError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        self._writer.close()

    # -- plumbing ------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        # ImapError from a tagged NO/BAD leaves the session usable; anything
        # else (cancellation, timeout, a dropped socket) does not.
        try:
            yield
        except ImapError as exc:
            if not isinstance(exc, _CommandRefused):
                self.broken = True
            raise
        except BaseException:
            self.broken = True
            raise

    def _next_tag(self) -> bytes:
        self._tag += 1
        return f"A{self._tag:04d}".encode("ascii")

    async def _send(self, data: bytes) -> None:
        self._writer.write(data)
        async with asyncio.timeout(self._timeout):
            await self._writer.drain()

    async def _command(self, *parts: bytes | _Literal) -> list[Response]:
        async with self._lock, self._guard():
            tag = self._next_tag()
            buffer = tag + b" "
            for part in parts:
                if isinstance(part, _Literal):
                    if "LITERAL+" in self.capabilities:
                        buffer += b"{%d+}\r\n" % len(part.data) + part.data
                        continue
                    await self._send(buffer + b"{%d}\r\n" % len(part.data))
                    async with asyncio.timeout(self._timeout):
                        reply = await self._read_response()
                    if reply.tag != "+":
                        raise ImapError(f"server refused a literal: {reply.kind} {reply.text}")
                    buffer = part.data
                else:
                    buffer += part
            await self._send(buffer + b"\r\n")
            return await self._collect(tag)

    async def _collect(self, tag: bytes) -> list[Response]:
        wanted = tag.decode("ascii")
        untagged: list[Response] = []
        while True:
            async with asyncio.timeout(self._timeout):
                response = await self._read_response()
            if response.tag == wanted:
                if response.kind != "OK":
                    code = f"[{response.code}] " if response.code else ""
                    raise _CommandRefused(f"{response.kind} {code}{response.text}".strip())
                untagged.append(response)
                return untagged
            if response.tag == "*" and response.kind == "BYE":
                raise ImapError(f"server closed the session: {response.text}")
            self._note(response)
            untagged.append(response)

    def _note(self, response: Response) -> None:
        if response.tag == "*" and response.kind in ("EXISTS", "RECENT"):
            self.new_mail = True

    async def _read_response(self) -> Response:
        segments: list[Segment] = []
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError:
                raise ImapError("connection closed by the server") from None
            except asyncio.LimitOverrunError:
                raise ImapError("response line too long") from None
            line = line[:-2]
            size = literal_size(line)
            if size is None:
                segments.append(Segment(line))
                return parse_response(segments)
            if size > MAX_LITERAL:
                raise ImapError(f"literal of {size} bytes is over the limit")
            try:
                literal = await self._reader.readexactly(size)
            except asyncio.IncompleteReadError:
                raise ImapError("connection closed inside a literal") from None
            segments.append(Segment(strip_literal_mark(line), literal))


@dataclass(frozen=True, slots=True)
class _Literal:
    data: bytes


def _astring(value: str) -> bytes | _Literal:
    if needs_literal(value):
        return _Literal(value.encode("utf-8"))
    return quote(value)
