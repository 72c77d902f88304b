"""Reading one IMAP mailbox: catch up, then wait for new mail (IDLE or polling).

The cursor — UIDVALIDITY and the last UID handed over — lives in the
channel's durable state and moves forward only after a message was handed
to the desk, so a restart at any instant loses nothing. A crash between the
hand-over and the cursor write re-reads one message, which the desk drops as
a duplicate of its Message-ID.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import (
    ChannelConnectionError,
    Health,
    HealthState,
    PluginContext,
)

from .imap_client import ImapAuthError, ImapClient, ImapError, MailboxStatus
from .imap_protocol import ImapProtocolError
from .inbound import FetchedMail
from .settings import EmailSettings

#: Receives one fetched message; returns True when the desk took it (so the
#: "processed" action applies), False when it was skipped.
Handler = Callable[[FetchedMail], Awaitable[bool]]
FETCH_BATCH = 50
_CONNECTION_ERRORS = (ImapError, ImapProtocolError, OSError, TimeoutError, EOFError)


@dataclass(slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int
    #: INTERNALDATE of the last message handed over ("17-Jul-2024"), for re-reading
    #: the recent past when the server renumbers the mailbox.
    last_date: str = ""

    def as_state(self) -> dict[str, Any]:
        return {
            "uidvalidity": self.uidvalidity,
            "last_uid": self.last_uid,
            "last_date": self.last_date,
        }


class MailboxReader:
    def __init__(
        self,
        settings: EmailSettings,
        context: PluginContext,
        handle: Handler,
        report: Callable[[Health], None],
    ) -> None:
        self._settings = settings
        self._context = context
        self._handle = handle
        self._report = report
        self._log: logging.Logger = context.logger
        self._state_key = f"imap:{settings.mailbox}"
        self.client: ImapClient | None = None
        #: The mailbox as the last ``connect`` opened it.
        self._status = MailboxStatus(0, None, 0)
        #: Whether the current session got as far as waiting for new mail.
        self._waiting = False
        #: Whether the current session is an immediate reconnection that has
        #: not completed a wait yet.
        self._reconnected = False
        self._stopping = False

    # -- connection ----------------------------------------------------------

    async def connect(self) -> ImapClient:
        """Connect, log in and open the mailbox. Raises ChannelConnectionError
        (server unreachable, login refused, no such mailbox) for the desk to
        report and retry."""
        settings = self._settings
        server = settings.imap
        try:
            client = await ImapClient.connect(
                server.host,
                server.port,
                security=server.security,
                ssl_context=settings.ssl_context() if server.security != "plain" else None,
                timeout=settings.timeout,
            )
        except _CONNECTION_ERRORS as exc:
            raise ChannelConnectionError(
                f"cannot reach IMAP server {server.host}:{server.port}: {exc}"
            ) from None
        try:
            await client.login(server.username, server.password)
            if settings.processed == "move":
                await client.create(settings.processed_folder)
        except ImapAuthError as exc:
            client.close()
            raise ChannelConnectionError(f"IMAP {exc}") from None
        except _CONNECTION_ERRORS as exc:
            client.close()
            raise ChannelConnectionError(f"IMAP session failed: {exc}") from None
        try:
            self._status = await client.select(
                settings.mailbox, readonly=settings.processed == "none"
            )
        except _CONNECTION_ERRORS as exc:
            client.close()
            raise ChannelConnectionError(
                f"mailbox {settings.mailbox!r} cannot be opened: {exc}"
            ) from None
        self.client = client
        return client

    async def run(self, client: ImapClient) -> None:
        """Serve the mailbox until cancelled. A connection that drops after it
        worked is re-opened once at once; a second failure in a row is raised
        (ChannelConnectionError) so the desk restarts the channel with backoff."""
        while True:
            try:
                await self._serve(client)
            except _CONNECTION_ERRORS as exc:
                client.close()
                if self._stopping:
                    return
                # Reconnect at once only a session that was serving (waiting for
                # mail), and not twice in a row without a completed wait between:
                # otherwise the desk's backoff takes over.
                if not self._waiting or self._reconnected:
                    raise ChannelConnectionError(f"IMAP connection failed: {exc}") from None
                self._reconnected = True
                self._log.warning("IMAP connection lost (%s); reconnecting", exc)
                self._report(Health(HealthState.DEGRADED, f"reconnecting: {exc}"))
                client = await self.connect()

    def begin_start(self) -> None:
        """Undo ``begin_stop``: the channel is being started (again)."""
        self._stopping = False
        self._reconnected = False

    def begin_stop(self) -> None:
        """From now on a failing connection ends ``run`` instead of reconnecting."""
        self._stopping = True

    def abort(self) -> None:
        """Close the connection under ``run``: whatever it awaits fails at once."""
        if self.client is not None:
            self.client.close()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.logout()

    # -- the session ---------------------------------------------------------

    async def _serve(self, client: ImapClient) -> None:
        settings = self._settings
        self._waiting = False
        status = self._status
        if status.uidvalidity <= 0:
            raise ImapProtocolError(f"mailbox {settings.mailbox!r} has no UIDVALIDITY")
        cursor = await self._catch_up(client, status)
        use_idle = settings.idle and "IDLE" in client.capabilities
        how = "IDLE" if use_idle else f"polling every {settings.poll_interval:g} s"
        while True:
            cursor = await self._fetch_new(client, cursor)
            if not self._waiting:  # UP once caught up, just before the first wait
                self._waiting = True
                self._report(Health(HealthState.UP, f"{settings.mailbox}: {how}"))
            if use_idle:
                await client.idle(settings.idle_renew)
            else:
                await asyncio.sleep(settings.poll_interval)
                await client.noop()
            self._reconnected = False

    async def _catch_up(self, client: ImapClient, status: MailboxStatus) -> Cursor:
        """The cursor to continue from, after handing over whatever the first
        start (or a renumbered mailbox) must pick up."""
        saved = self._context.state.get(self._state_key)
        if isinstance(saved, dict) and saved.get("uidvalidity") == status.uidvalidity:
            return Cursor(
                status.uidvalidity, int(saved.get("last_uid", 0)), saved.get("last_date", "")
            )
        baseline = (
            (status.uidnext - 1) if status.uidnext else max(await client.uid_search("ALL") or [0])
        )
        if isinstance(saved, dict):
            since = _day_before(saved.get("last_date", ""))
            self._log.warning(
                "mailbox %s was renumbered (UIDVALIDITY %s -> %s); re-reading mail since %s, "
                "the desk drops what it already has",
                self._settings.mailbox,
                saved.get("uidvalidity"),
                status.uidvalidity,
                since or "the beginning",
            )
            criteria = f"SINCE {since}" if since else "ALL"
        else:
            criteria = {"unseen": "UNSEEN", "all": "ALL", "new": ""}[self._settings.initial_sync]
        cursor = Cursor(status.uidvalidity, 0)
        if criteria:
            uids = [uid for uid in await client.uid_search(criteria) if uid <= baseline]
            cursor = await self._hand_over(client, uids, cursor, save=False)
        cursor.last_uid = max(cursor.last_uid, baseline)
        await self._save(cursor)
        return cursor

    async def _fetch_new(self, client: ImapClient, cursor: Cursor) -> Cursor:
        found = await client.uid_search(f"UID {cursor.last_uid + 1}:*")
        # "n:*" always matches the highest UID, even one below n.
        uids = [uid for uid in found if uid > cursor.last_uid]
        return await self._hand_over(client, uids, cursor, save=True)

    async def _hand_over(
        self, client: ImapClient, uids: list[int], cursor: Cursor, *, save: bool
    ) -> Cursor:
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            info = await client.uid_fetch(_uid_set(batch), "UID RFC822.SIZE INTERNALDATE")
            for uid in batch:
                meta = info.get(uid)
                if meta is not None:
                    fetched = await self._download(client, uid, meta)
                    if fetched is not None and await self._handle(fetched):
                        await self._mark_processed(client, uid)
                    cursor.last_date = _date_part(meta.get("INTERNALDATE")) or cursor.last_date
                # An expunged message is gone; the cursor still moves past it.
                cursor.last_uid = max(cursor.last_uid, uid)
                if save:
                    await self._save(cursor)
        return cursor

    async def _download(
        self, client: ImapClient, uid: int, meta: dict[str, Any]
    ) -> FetchedMail | None:
        size_text = meta.get("RFC822.SIZE")
        size = int(size_text) if isinstance(size_text, str) and size_text.isdigit() else 0
        headers_only = size > self._settings.max_message_bytes
        item = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
        result = await client.uid_fetch(str(uid), f"UID {item}")
        values = result.get(uid, {})
        raw = values.get("BODY[HEADER]" if headers_only else "BODY[]")
        if isinstance(raw, str):  # a tiny body may come as a quoted string
            raw = raw.encode("utf-8")
        if not isinstance(raw, bytes):
            self._log.warning("message UID %s vanished before it could be read; skipped", uid)
            return None
        return FetchedMail(uid=uid, raw=raw, size=size or len(raw), headers_only=headers_only)

    async def _mark_processed(self, client: ImapClient, uid: int) -> None:
        settings = self._settings
        try:
            if settings.processed == "seen":
                await client.uid_store_flags(uid, "\\Seen")
            elif settings.processed == "move":
                await client.uid_move(uid, settings.processed_folder)
        except ImapError as exc:
            # The desk has the message; a failed flag or move is worth a warning only.
            self._log.warning("could not mark message UID %s processed: %s", uid, exc)

    async def _save(self, cursor: Cursor) -> None:
        await self._context.state.set(self._state_key, cursor.as_state())


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _date_part(internaldate: object) -> str:
    # INTERNALDATE looks like "17-Jul-1996 02:44:25 -0700"; SEARCH SINCE takes the day.
    if isinstance(internaldate, str) and " " in internaldate.strip():
        return internaldate.strip().split(" ", 1)[0]
    return ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_before(day: str) -> str:
    """The IMAP date ("17-Jul-2024") of the day before ``day``; "" when unreadable.
    Month names are always English in IMAP, whatever the locale."""
    try:
        number, month, year = day.strip().split("-")
        parsed = datetime.date(int(year), _MONTHS.index(month.title()) + 1, int(number))
    except ValueError:
        return ""
    earlier = parsed - datetime.timedelta(days=1)
    return f"{earlier.day}-{_MONTHS[earlier.month - 1]}-{earlier.year}"
