"""The web chat channel: a widget page and a visitor websocket on the desk's HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

from agentdesk.plugin import (
    Capabilities,
    Channel,
    Delivery,
    HandoffContext,
    Health,
    HealthState,
    Option,
    Outbound,
    PermanentDeliveryError,
    PluginContext,
    TemporaryDeliveryError,
)

from . import protocol
from .endpoint import ChatEndpoint
from .history import AGENT, History, SessionRecord
from .live import LiveSessions
from .origins import OriginPolicy
from .pages import ASSETS, WidgetPages
from .protocol import CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TRY_LATER
from .ratelimit import TokenBucket
from .sessions import is_session_id, load_signer
from .settings import MAX_TEXT_LENGTH, OPTIONS, ChatSettings
from .survey_form import posted_questions


class WebChatChannel(Channel):
    """Live chat with a site's visitors through a widget the desk serves.

    Routes, under ``/channels/<name>``: ``/`` the widget page, ``/widget.js``,
    ``/widget.css``, ``/embed.js`` (the script tag for other sites) and ``/ws``
    (the visitor's websocket). A visitor's identity is their chat session id.
    """

    plugin: ClassVar[str] = "webchat"
    version: ClassVar[str] = "0.1.0"
    description: ClassVar[str] = "A chat widget for your web site, served by the desk"
    needs_http: ClassVar[bool] = True
    capabilities = Capabilities(
        kind="chat",
        identity_kind="chat",
        realtime=True,
        max_text_length=MAX_TEXT_LENGTH,
        typing_indicators=True,
        read_receipts=True,
        survey_form="inline",
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        declared = {option.name: option.default for option in self.options}
        self._opts: dict[str, Any] = {**declared, **context.options}
        self._policy = OriginPolicy(self._opts["allowed_origins"] or ())
        self._settings = ChatSettings.from_options(self._opts)
        self._history = History(context.state, limit=self._settings.history_limit)
        self._live = LiveSessions(
            lambda: TokenBucket(self._settings.rate_per_minute, self._settings.rate_burst)
        )
        self._pages = WidgetPages(
            self._policy, title=self._settings.title, greeting=self._settings.greeting
        )
        self._endpoint: ChatEndpoint | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._routes_added = False
        #: The widget page's full path on the desk's server, once routes are added.
        self.widget_path: str | None = None

    async def start(self) -> None:
        if self._endpoint is not None:
            return
        signer = await load_signer(str(self._opts["secret"] or ""), self.context.state)
        self._endpoint = ChatEndpoint(
            settings=self._settings,
            policy=self._policy,
            signer=signer,
            history=self._history,
            live=self._live,
            emit=self.context.emit,
            public_url=lambda: self.context.base_url,
            logger=self.context.logger,
        )
        self._add_routes()
        self.context.report(Health(HealthState.UP, "waiting for visitors"))

    def _add_routes(self) -> None:
        if self._routes_added:
            return
        self.widget_path = self.context.add_route("/", self._pages.page)
        for path in ASSETS:
            self.context.add_route(path, self._pages.asset)
        self.context.add_websocket_route("/ws", self._serve_websocket)
        self._routes_added = True

    async def _serve_websocket(self, websocket: Any) -> None:
        endpoint = self._endpoint
        if endpoint is None:
            await websocket.accept()
            await websocket.close(code=CLOSE_TRY_LATER, reason="the chat is not running")
            return
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await endpoint(websocket)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def stop(self) -> None:
        if self._endpoint is None:
            return
        self._endpoint = None
        self._live.close_all(CLOSE_GOING_AWAY, "the chat is restarting")
        handlers = set(self._handlers)
        if handlers:
            # Browsers normally answer the close at once; one that does not is cut off.
            _, pending = await asyncio.wait(handlers, timeout=2.0)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def send(self, outbound: Outbound) -> Delivery:
        """Add the reply to the session's log and push it to every open tab.

        A visitor who is offline gets it on their return (state "sent"); an
        online browser's receipt within ``delivery_wait_seconds`` makes it
        "delivered". HTML is never sent: the widget shows text only.

        An outbound with a ``survey`` shows its questions under the text, as
        a rating the visitor clicks; each answer is emitted as an
        ``InboundSurvey`` (see ``survey_answers``).
        """
        if self._endpoint is None:
            raise TemporaryDeliveryError("the chat channel is not running")
        to = outbound.to
        if not is_session_id(to):
            raise PermanentDeliveryError(f"{to[:80]!r} is not a chat session id")
        text = outbound.text
        if not text.strip():
            raise PermanentDeliveryError("the message is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise PermanentDeliveryError(
                f"the message is {len(text)} characters long; chat takes {MAX_TEXT_LENGTH}"
            )
        try:
            survey = posted_questions(outbound.survey)
        except ValueError as exc:
            raise PermanentDeliveryError(f"the survey cannot be shown: {exc}") from None
        async with self._history.locked(to) as record:
            if record is None:
                raise PermanentDeliveryError(f"no chat session {to}: the visitor never wrote")
            entry = record.find(AGENT, outbound.key)
            fresh = entry is None
            if entry is None:
                entry = await self._history.append(
                    record,
                    AGENT,
                    outbound.key,
                    text,
                    agent=outbound.agent,
                    survey=survey,
                    task_number=outbound.task_number if survey else None,
                )
        external_id = f"{to}:{entry.seq}"
        live = self._live.peek(to)
        if fresh and live is not None:
            live.agent_typing = False
            self._live.broadcast(to, entry.frame())
        if record.delivered_seq >= entry.seq:
            return Delivery(external_id, "delivered", detail=_read_detail(record, entry.seq))
        wait = float(self._opts["delivery_wait_seconds"])
        if live is not None and self._live.connected(to) and wait > 0:
            future = live.waiting.get(entry.seq)
            if future is None:
                future = asyncio.get_running_loop().create_future()
                live.waiting[entry.seq] = future
            try:
                await asyncio.wait_for(asyncio.shield(future), wait)
                return Delivery(external_id, "delivered")
            except TimeoutError:
                live.waiting.pop(entry.seq, None)
        detail = "" if self._live.connected(to) else "visitor offline; shown when they return"
        return Delivery(external_id, "sent", detail=detail)

    async def send_typing(self, to: str, typing: bool = True) -> None:
        """Show (or hide) "typing…" in the visitor's widget while an agent
        writes a reply in the console."""
        live = self._live.peek(to)
        # "Still typing" goes out again: the widget hides the line after a
        # while without news, in case the agent's console went away.
        if live is None or (not typing and not live.agent_typing):
            return
        live.agent_typing = typing
        self._live.broadcast(to, protocol.typing(typing))

    def is_connected(self, session_id: str) -> bool:
        """Whether the visitor has the chat open right now."""
        return self._live.connected(session_id)

    def disconnect(self, session_id: str, reason: str = "disconnected by the desk") -> int:
        """Close the visitor's open connections; their browser reconnects and catches up.

        Returns how many connections were closed.
        """
        return self._live.close_session(session_id, CLOSE_POLICY, reason)

    async def handoff_in(self, handoff: HandoffContext) -> Outbound | None:
        """Chat only reaches a visitor who has the widget open.

        With the visitor connected, the context line is sent into their chat.
        Otherwise (or for a session this channel does not know) the
        conversation opens silently: replies wait in the session's log and
        show when the visitor returns.
        """
        if not is_session_id(handoff.to) or not self._live.connected(handoff.to):
            return None
        return await super().handoff_in(handoff)

    def health(self) -> Health:
        if self._endpoint is None:
            return Health(HealthState.STOPPED, "stopped")
        count = self._live.count()
        return Health(HealthState.UP, f"{count} visitor connection{'s' if count != 1 else ''}")


def _read_detail(record: SessionRecord, seq: int) -> str:
    return "read" if record.read_seq >= seq else ""
