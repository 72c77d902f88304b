"""The visitor's websocket: hello and replay, then messages, typing, contact
details, receipts and survey answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentdesk.plugin import DeliveryReceipt, Inbound, InboundMessage, TypingSignal

from . import protocol
from .history import AGENT, VISITOR, History, SessionRecord
from .live import QUEUE_SIZE, Connection, LiveSession, LiveSessions
from .origins import OriginPolicy
from .protocol import (
    CLOSE_BAD_TOKEN,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_INTERNAL_ERROR,
    CLOSE_POLICY,
    CLOSE_PROTOCOL,
    CLOSE_TOO_BIG,
    CLOSE_TRY_LATER,
    ProtocolError,
)
from .ratelimit import KeyedBuckets, TokenBucket
from .sessions import TokenSigner, new_session_id
from .settings import ChatSettings
from .survey_answers import SurveyAnswers, answered_frames

#: How often a visitor who keeps typing is reported to the desk again.
TYPING_REFRESH_SECONDS = 3.0


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ChatEndpoint:
    """The websocket endpoint a browser talks to (``/channels/<name>/ws``)."""

    def __init__(
        self,
        *,
        settings: ChatSettings,
        policy: OriginPolicy,
        signer: TokenSigner,
        history: History,
        live: LiveSessions,
        emit: Callable[[Inbound], Awaitable[None]],
        public_url: Callable[[], str | None],
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.signer = signer
        self.history = history
        self.live = live
        self.emit = emit
        self.public_url = public_url
        self.logger = logger
        self.clock = clock
        self.new_sessions = KeyedBuckets(
            settings.new_sessions_per_minute, settings.new_sessions_burst, clock=clock
        )
        self.surveys = SurveyAnswers(history=history, live=live, emit=emit, logger=logger)

    async def __call__(self, websocket: Any) -> None:
        headers = websocket.headers
        origin = headers.get("origin")
        if not self.policy.allows(origin, headers.get("host"), self.public_url()):
            self.logger.debug("refused a chat connection from origin %.100r", origin)
            await _deny(websocket)
            return
        await websocket.accept()
        if self.live.count() >= self.settings.max_connections:
            await _close(websocket, CLOSE_TRY_LATER, "too many visitors right now")
            return
        try:
            session_id, last_seq = await self._hello(websocket)
        except _Close as close:
            await _close(websocket, close.code, close.reason)
            return
        if session_id is None:
            return
        live = self.live.session(session_id)
        if len(live.connections) >= self.settings.max_tabs:
            await _close(websocket, CLOSE_TRY_LATER, "too many open chat windows")
            return
        # Room for a whole replay on top of live traffic.
        queue_size = self.settings.history_limit + QUEUE_SIZE
        connection = Connection(websocket, session_id, queue_size=queue_size)
        self.history.pin(session_id)
        self.live.add(connection)
        connection.start()
        try:
            self._welcome(connection, live, last_seq)
            await self._serve(connection, live)
        except _Close as close:
            connection.close(close.code, close.reason)
        except Exception:
            # A failure of the desk side (state, emit) ends this connection only;
            # the browser reconnects and resends what was not confirmed.
            self.logger.exception("chat connection of session %s failed", session_id)
            connection.close(CLOSE_INTERNAL_ERROR, "internal error; reconnecting")
        finally:
            self.live.remove(connection)
            if not live.connections and live.visitor_typing:
                live.visitor_typing = False
                with contextlib.suppress(Exception):
                    await self.emit(TypingSignal(identity=session_id, typing=False))
            await connection.finish()
            self.history.unpin(session_id)

    async def _hello(self, websocket: Any) -> tuple[str | None, int]:
        try:
            raw = await asyncio.wait_for(self._receive(websocket), self.settings.hello_timeout)
        except TimeoutError:
            raise _Close(CLOSE_HELLO_TIMEOUT, "no hello frame") from None
        if raw is None:
            return None, 0
        try:
            hello = protocol.parse_client_frame(raw, max_chars=self.settings.max_chars)
        except ProtocolError as exc:
            raise _Close(CLOSE_PROTOCOL, str(exc)[:120]) from None
        if not isinstance(hello, protocol.Hello):
            raise _Close(CLOSE_PROTOCOL, "the first frame must be hello")
        if hello.token is None:
            client = websocket.client
            if not self.new_sessions.take(client.host if client else "unknown"):
                raise _Close(CLOSE_TRY_LATER, "too many new chats from this address; try later")
            return new_session_id(), 0
        session_id = self.signer.verify(hello.token)
        if session_id is None:
            raise _Close(CLOSE_BAD_TOKEN, "invalid session token")
        return session_id, hello.last_seq

    def _welcome(self, connection: Connection, live: LiveSession, last_seq: int) -> None:
        session_id = connection.session_id
        record = self.history.get(session_id)
        seq = record.last_seq if record else 0
        connection.push(
            protocol.welcome(
                session=session_id,
                token=self.signer.issue(session_id),
                seq=seq,
                max_chars=self.settings.max_chars,
                name=record.name if record else "",
                email=record.email if record else "",
                title=self.settings.title,
                greeting=self.settings.greeting,
            )
        )
        if record is not None:
            # A browser ahead of the log (the log was lost) gets all of it again.
            start = last_seq if last_seq <= seq else 0
            for entry in record.since(start):
                connection.push(entry.frame())
            # Surveys it already shows may have been answered in another tab meanwhile.
            for entry in record.entries:
                if entry.seq <= start and entry.survey:
                    for frame in answered_frames(entry):
                        connection.push(frame)
        if live.agent_typing:
            connection.push(protocol.typing(True))

    async def _serve(self, connection: Connection, live: LiveSession) -> None:
        frames = TokenBucket(self.settings.frames_per_minute, self.settings.frames_burst)
        while True:
            raw = await self._receive(connection.websocket)
            if raw is None:
                return
            if not frames.take():
                raise _Close(CLOSE_POLICY, "too many frames; slow down")
            try:
                frame = protocol.parse_client_frame(raw, max_chars=self.settings.max_chars)
                await self._dispatch(connection, live, frame)
            except ProtocolError as exc:
                # Refused, and the connection goes on.
                self.logger.info(
                    "refused a frame of chat session %s (%s): %s",
                    connection.session_id,
                    exc.code,
                    exc,
                )
                connection.push(
                    protocol.error(exc.code, str(exc), client_id=exc.client_id, **exc.extra)
                )

    async def _dispatch(
        self, connection: Connection, live: LiveSession, frame: protocol.ClientFrame
    ) -> None:
        session_id = connection.session_id
        if isinstance(frame, protocol.ChatText):
            await self._visitor_message(connection, live, frame)
        elif isinstance(frame, protocol.Typing):
            now = self.clock()
            refresh = now - live.visitor_typing_sent_at >= TYPING_REFRESH_SECONDS
            if frame.typing != live.visitor_typing or (frame.typing and refresh):
                live.visitor_typing = frame.typing
                live.visitor_typing_sent_at = now
                await self.emit(TypingSignal(identity=session_id, typing=frame.typing))
        elif isinstance(frame, protocol.Identify):
            await self._identify(connection, live, frame)
        elif isinstance(frame, protocol.Ack):
            receipts: list[DeliveryReceipt] = []
            async with self.history.locked(session_id) as record:
                if record is not None:
                    before = (record.delivered_seq, record.read_seq)
                    await self.history.mark(record, frame.seq, read=frame.read)
                    self.live.resolve_receipts(session_id, record.delivered_seq)
                    receipts = late_receipts(record, *before)
            # Replies the visitor's browser has now shown or seen, for the desk.
            for receipt in receipts:
                await self.emit(receipt)
        elif isinstance(frame, protocol.SurveyAnswer):
            await self.surveys.answer(connection, frame)
        elif isinstance(frame, protocol.Ping):
            connection.push(protocol.pong())
        else:  # a hello after the first frame
            connection.push(protocol.error("bad_request", "hello is only the first frame"))

    async def _visitor_message(
        self, connection: Connection, live: LiveSession, frame: protocol.ChatText
    ) -> None:
        session_id = connection.session_id
        async with self.history.locked(session_id, create=True) as record:
            assert record is not None
            existing = record.find(VISITOR, frame.client_id)
            if existing is not None:
                # The browser sent it again after a reconnect: confirm, do not repeat.
                connection.push(existing.frame())
                return
            if not _take(live):
                connection.push(_rate_limited(live, frame.client_id))
                return
            await self.emit(
                InboundMessage(
                    identity=session_id,
                    text=frame.text,
                    external_id=f"{session_id}:{frame.client_id}",
                    customer_name=record.name,
                    thread_ref=session_id,
                    at=time.time(),
                    other_identities=_email_identity(record),
                )
            )
            entry = await self.history.append(record, VISITOR, frame.client_id, frame.text)
        self.live.broadcast(session_id, entry.frame())
        if live.visitor_typing:  # the message ends the typing
            live.visitor_typing = False
            await self.emit(TypingSignal(identity=session_id, typing=False))

    async def _identify(
        self, connection: Connection, live: LiveSession, frame: protocol.Identify
    ) -> None:
        session_id = connection.session_id
        if not _take(live):
            connection.push(_rate_limited(live, None))
            return
        async with self.history.locked(session_id, create=True) as record:
            assert record is not None
            changed = (frame.name and frame.name != record.name) or (
                frame.email and frame.email != record.email
            )
            await self.history.set_identity(record, frame.name, frame.email)
            if changed and record.last_seq > 0:
                # The conversation already exists at the desk: tell it now rather
                # than on the visitor's next message, which may never come.
                await self.emit(
                    InboundMessage(
                        identity=session_id,
                        text=_contact_line(record),
                        external_id=f"{session_id}:contact:{record.name}:{record.email}",
                        customer_name=record.name,
                        thread_ref=session_id,
                        at=time.time(),
                        other_identities=_email_identity(record),
                    )
                )
            name, email = record.name, record.email
        self.live.broadcast(session_id, protocol.identified(name, email))

    async def _receive(self, websocket: Any) -> str | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            raise _Close(CLOSE_PROTOCOL, "text frames only")
        limit = self.settings.max_frame_bytes
        if len(text) > limit or len(text.encode("utf-8", "replace")) > limit:
            raise _Close(
                CLOSE_TOO_BIG, f"message too big: the limit is {self.settings.max_chars} characters"
            )
        return text


def _take(live: LiveSession) -> bool:
    return live.messages is None or live.messages.take()


def _rate_limited(live: LiveSession, client_id: str | None) -> str:
    wait = live.messages.retry_after() if live.messages else 0.0
    return protocol.error(
        "rate_limited",
        "you are sending messages too fast; wait a moment",
        client_id=client_id,
        retry_after=round(min(wait, 3600.0), 1),
    )


def _email_identity(record: SessionRecord) -> tuple[tuple[str, str], ...]:
    return (("email", record.email),) if record.email else ()


def _contact_line(record: SessionRecord) -> str:
    who = " ".join(
        part for part in (record.name, f"<{record.email}>" if record.email else "") if part
    )
    return f"(shared contact details: {who})"


async def _close(websocket: Any, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)


async def _deny(websocket: Any) -> None:
    """Refuse the handshake: the browser gets HTTP 403."""
    # A bare close before accept; uvicorn logs a spurious error for a 403 with a body.
    with contextlib.suppress(Exception):
        await websocket.close(code=CLOSE_POLICY)


def late_receipts(record: SessionRecord, delivered: int, read: int) -> list[DeliveryReceipt]:
    """Receipts for the agent messages an acknowledgement moved past: shown
    (``delivered``) or seen (``read``) since the counts were ``delivered`` and
    ``read``."""
    receipts = []
    for entry in record.entries:
        if entry.sender != AGENT:
            continue
        if read < entry.seq <= record.read_seq:
            receipts.append(DeliveryReceipt(entry.message_id, "read"))
        elif delivered < entry.seq <= record.delivered_seq:
            receipts.append(DeliveryReceipt(entry.message_id, "delivered"))
    return receipts
