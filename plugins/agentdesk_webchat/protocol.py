"""The web chat wire protocol: JSON text frames over one websocket.

Browser to desk (the first frame is always ``hello``)::

    {"type": "hello", "token": "<token or null>", "last_seq": 0}
    {"type": "message", "id": "<client message id>", "text": "..."}
    {"type": "typing", "typing": true}
    {"type": "identify", "name": "...", "email": "..."}
    {"type": "ack", "seq": 12, "read": false}
    {"type": "survey_answer", "id": "<survey message id>", "metric": "csat", "score": 4,
     "comment": "..."}
    {"type": "ping"}

Desk to browser::

    {"type": "welcome", "session": "...", "token": "...", "seq": 12, "max_chars": 4000, ...}
    {"type": "message", "seq": 13, "from": "visitor" | "agent", "id": "...", "text": "...",
     "at": 1700000000.0, "agent": "Sam", "survey": [<questions>]}
    {"type": "survey_answered", "id": "<survey message id>", "metric": "csat", "score": 4}
    {"type": "typing", "typing": true}
    {"type": "identified", "name": "...", "email": "..."}
    {"type": "error", "code": "too_long", "message": "...", "id": "<client id or null>"}
    {"type": "pong"}

Every message the session carries, the visitor's and the agent's, has a
sequence number. A browser that reconnects sends the last one it saw and gets
the rest replayed. Text is always plain text; the protocol has no HTML.

A ``message`` that is a satisfaction survey carries ``survey``: its
questions (``metric``, ``question``, ``low``, ``high``, ``low_label``,
``high_label`` and ``answer``, null or ``{"score": 4}``). Each question is
answered once, on its own, by a ``survey_answer`` frame.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Websocket close codes the desk uses, with the reason text sent beside them.
CLOSE_GOING_AWAY = 1001  # the desk is stopping
CLOSE_POLICY = 1008  # too many frames, or the visitor was disconnected
CLOSE_TOO_BIG = 1009  # a frame past the hard size limit
CLOSE_INTERNAL_ERROR = 1011  # the desk failed; the browser reconnects
CLOSE_TRY_LATER = 1013  # too many connections
CLOSE_PROTOCOL = 4400  # a frame that is not this protocol
CLOSE_BAD_TOKEN = 4401  # a session token that does not verify: start a new session
CLOSE_HELLO_TIMEOUT = 4408

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A deliberately plain check: one @, no spaces, a dot in the domain.
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]+\.[^@\s<>\".]{2,}$")
MAX_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254
#: The longest comment a visitor may give with a survey answer.
MAX_SURVEY_COMMENT_CHARS = 2000
_SURVEY_ID_CHARS = 200


class ProtocolError(ValueError):
    """A frame that does not follow the protocol. ``code`` goes to the browser."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "bad_request",
        client_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.client_id = client_id
        #: More fields for the error frame (which survey question it is about).
        self.extra = extra or {}


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None
    last_seq: int


@dataclass(frozen=True, slots=True)
class ChatText:
    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Typing:
    typing: bool


@dataclass(frozen=True, slots=True)
class Identify:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    read: bool


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    #: The survey message's id (its outbound key).
    message_id: str
    metric: str
    score: int
    comment: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientFrame = Hello | ChatText | Typing | Identify | Ack | SurveyAnswer | Ping


def parse_client_frame(raw: str, *, max_chars: int) -> ClientFrame:
    """Decode one frame from the browser, or raise ``ProtocolError``.

    ``max_chars`` bounds a message's text; a longer one is refused with the
    code ``too_long`` so the widget can say so and keep the draft.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("frames are JSON objects") from None
    if not isinstance(data, dict):
        raise ProtocolError("frames are JSON objects")
    kind = data.get("type")
    if kind == "hello":
        token = data.get("token")
        if token is not None and not isinstance(token, str):
            raise ProtocolError("hello.token must be text or null")
        return Hello(token=token or None, last_seq=_seq(data.get("last_seq", 0)))
    if kind == "message":
        client_id = data.get("id")
        if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
            raise ProtocolError("message.id must be 1-64 letters, digits, '-' or '_'")
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError("message.text must be text", client_id=client_id)
        if len(text) > max_chars:
            raise ProtocolError(
                f"message is {len(text)} characters long; the limit is {max_chars}",
                code="too_long",
                client_id=client_id,
            )
        if not text.strip():
            raise ProtocolError("message is empty", code="empty", client_id=client_id)
        return ChatText(client_id=client_id, text=text)
    if kind == "typing":
        return Typing(typing=bool(data.get("typing", True)))
    if kind == "identify":
        return _identify(data)
    if kind == "ack":
        return Ack(seq=_seq(data.get("seq")), read=bool(data.get("read", False)))
    if kind == "survey_answer":
        return _survey_answer(data)
    if kind == "ping":
        return Ping()
    raise ProtocolError(f"unknown frame type {str(kind)[:40]!r}")


def _seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError("sequence numbers are whole numbers >= 0")
    return value


def _identify(data: dict[str, Any]) -> Identify:
    name = data.get("name", "")
    email = data.get("email", "")
    if not isinstance(name, str) or not isinstance(email, str):
        raise ProtocolError("identify.name and identify.email must be text")
    name = " ".join(name.split())
    email = email.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ProtocolError(f"name is longer than {MAX_NAME_CHARS} characters", code="bad_name")
    if email and (len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email)):
        raise ProtocolError("that does not look like an email address", code="bad_email")
    if not name and not email:
        raise ProtocolError("give a name or an email address", code="bad_email")
    return Identify(name=name, email=email.lower() if email else "")


def _survey_answer(data: dict[str, Any]) -> SurveyAnswer:
    message_id = data.get("id")
    metric = data.get("metric")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= _SURVEY_ID_CHARS:
        raise ProtocolError("survey_answer.id must name the survey message", code="bad_survey")
    if not isinstance(metric, str) or not 0 < len(metric) <= 40:
        raise ProtocolError(
            "survey_answer.metric must name a question",
            code="bad_survey",
            extra={"survey": message_id},
        )
    where = {"survey": message_id, "metric": metric}
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int):
        raise ProtocolError("the score must be a whole number", code="bad_survey", extra=where)
    comment = data.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise ProtocolError("the comment must be text", code="bad_survey", extra=where)
    if len(comment) > MAX_SURVEY_COMMENT_CHARS:
        raise ProtocolError(
            f"the comment is {len(comment)} characters long; "
            f"the limit is {MAX_SURVEY_COMMENT_CHARS}",
            code="too_long",
            extra=where,
        )
    return SurveyAnswer(message_id=message_id, metric=metric, score=score, comment=comment.strip())


def encode(frame: dict[str, Any]) -> str:
    """One frame for the browser, as compact JSON."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def welcome(
    *,
    session: str,
    token: str,
    seq: int,
    max_chars: int,
    name: str,
    email: str,
    title: str,
    greeting: str,
) -> str:
    return encode(
        {
            "type": "welcome",
            "session": session,
            "token": token,
            "seq": seq,
            "max_chars": max_chars,
            "name": name,
            "email": email,
            "title": title,
            "greeting": greeting,
        }
    )


def message(
    *,
    seq: int,
    sender: str,
    message_id: str,
    text: str,
    at: float,
    agent: str = "",
    survey: list[dict[str, Any]] | None = None,
) -> str:
    frame: dict[str, Any] = {
        "type": "message",
        "seq": seq,
        "from": sender,
        "id": message_id,
        "text": text,
        "at": at,
        "agent": agent,
    }
    if survey:
        frame["survey"] = survey
    return encode(frame)


def survey_answered(message_id: str, metric: str, score: int) -> str:
    return encode({"type": "survey_answered", "id": message_id, "metric": metric, "score": score})


def typing(is_typing: bool) -> str:
    return encode({"type": "typing", "typing": is_typing})


def identified(name: str, email: str) -> str:
    return encode({"type": "identified", "name": name, "email": email})


def error(code: str, text: str, *, client_id: str | None = None, **extra: Any) -> str:
    return encode({"type": "error", "code": code, "message": text, "id": client_id, **extra})


def pong() -> str:
    return encode({"type": "pong"})
