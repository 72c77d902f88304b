"""The channel's options, and the settings the endpoint runs with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentdesk.plugin import Option

from .origins import check_origins
from .protocol import MAX_SURVEY_COMMENT_CHARS

#: The longest text either side may send, in characters.
MAX_TEXT_LENGTH = 4000

OPTIONS: tuple[Option, ...] = (
    Option.list(
        "allowed_origins",
        help="sites that may embed the widget or open the chat, like "
        "https://www.example.com; the desk's own origin always may; * allows any",
        validator=check_origins,
    ),
    Option.secret(
        "secret",
        default="",
        help="key that signs visitors' session tokens (16+ characters); "
        "empty: one is generated and kept in the channel's state",
    ),
    Option.number(
        "max_message_chars",
        default=MAX_TEXT_LENGTH,
        minimum=1,
        maximum=MAX_TEXT_LENGTH,
        integer=True,
        help="longest message a visitor may send",
    ),
    Option.number(
        "rate_limit_per_minute",
        default=20,
        minimum=1,
        maximum=6000,
        help="messages a visitor may send per minute, on average",
    ),
    Option.number(
        "rate_limit_burst",
        default=5,
        minimum=1,
        maximum=1000,
        integer=True,
        help="messages a visitor may send at once before the rate applies",
    ),
    Option.number(
        "new_sessions_per_minute",
        default=10,
        minimum=1,
        maximum=100000,
        help="new chats one client address may open per minute (twice that at once); "
        "behind a proxy on another host, let uvicorn trust its X-Forwarded-For",
    ),
    Option.number(
        "history_limit",
        default=200,
        minimum=10,
        maximum=10000,
        integer=True,
        help="messages kept per session for replay to a returning browser",
    ),
    Option.number(
        "max_connections",
        default=500,
        minimum=1,
        integer=True,
        help="open visitor connections at most, all sessions together",
    ),
    Option.number(
        "delivery_wait_seconds",
        default=1.0,
        minimum=0,
        maximum=10,
        help="how long send waits for an online browser's receipt to report "
        "'delivered' (otherwise 'sent')",
    ),
    Option.text("title", default="Chat with us", help="the widget's heading"),
    Option.text(
        "greeting",
        default="Hello! Ask us anything and we will answer here.",
        help="first line shown to a visitor",
    ),
)


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """The endpoint's limits and texts, from the channel's options."""

    max_chars: int = 4000
    rate_per_minute: float = 20.0
    rate_burst: int = 5
    max_connections: int = 500
    max_tabs: int = 10
    history_limit: int = 200
    hello_timeout: float = 10.0
    #: Frames of any kind one tab may send: a flood guard above the message limit.
    frames_per_minute: float = 600.0
    frames_burst: int = 60
    #: New sessions one client address may open: keeps one machine from
    #: opening chat after chat to flood the desk with tasks.
    new_sessions_per_minute: float = 10.0
    new_sessions_burst: int = 20
    title: str = "Chat with us"
    greeting: str = ""

    @property
    def max_frame_bytes(self) -> int:
        # Room for the longest text (a message or a survey comment) in UTF-8
        # with JSON escapes, and the envelope.
        return max(self.max_chars, MAX_SURVEY_COMMENT_CHARS) * 6 + 1024

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ChatSettings:
        """Settings from the channel's typed option values."""
        per_minute = float(options["new_sessions_per_minute"])
        return cls(
            max_chars=int(options["max_message_chars"]),
            rate_per_minute=float(options["rate_limit_per_minute"]),
            rate_burst=int(options["rate_limit_burst"]),
            max_connections=int(options["max_connections"]),
            history_limit=int(options["history_limit"]),
            new_sessions_per_minute=per_minute,
            new_sessions_burst=max(1, int(2 * per_minute)),
            title=str(options["title"]),
            greeting=str(options["greeting"]),
        )
