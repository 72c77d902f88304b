"""Chat session ids and the signed tokens that bring a visitor back to theirs.

A session id is the visitor's chat identity (``InboundMessage.identity`` and
``Outbound.to``). The browser keeps a token, ``<session id>.<signature>``, in
localStorage; the signature is an HMAC-SHA256 of the id under the channel's
secret, so nobody can claim a session id they were not given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from agentdesk.plugin import PluginConfigError, PluginState

SESSION_PREFIX = "chat-"
_SESSION_ID = re.compile(r"^chat-[A-Za-z0-9_-]{22}$")
_SECRET_KEY = "token-secret"
MIN_SECRET_CHARS = 16


def new_session_id() -> str:
    """A fresh, unguessable session id (128 random bits)."""
    return SESSION_PREFIX + _b64(secrets.token_bytes(16))


def is_session_id(value: str) -> bool:
    return bool(_SESSION_ID.match(value))


class TokenSigner:
    """Issues and checks session tokens under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_CHARS} bytes")
        self._secret = secret

    def issue(self, session_id: str) -> str:
        return f"{session_id}.{self._sign(session_id)}"

    def verify(self, token: str) -> str | None:
        """The session id the token was issued for, or None when it does not verify."""
        if len(token) > 200:
            return None
        session_id, dot, signature = token.rpartition(".")
        if not dot or not is_session_id(session_id):
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(session_id).encode()):
            return None
        return session_id

    def _sign(self, session_id: str) -> str:
        digest = hmac.new(self._secret, session_id.encode(), hashlib.sha256).digest()
        return _b64(digest)


async def load_signer(configured_secret: str, state: PluginState) -> TokenSigner:
    """A signer for the configured secret, or for one generated once and kept in ``state``.

    A generated secret survives restarts, so returning visitors keep their
    session; set the ``secret`` option to share it between desks.
    """
    if configured_secret:
        if len(configured_secret) < MIN_SECRET_CHARS:
            raise PluginConfigError(
                f"webchat: secret must be at least {MIN_SECRET_CHARS} characters long"
            )
        return TokenSigner(configured_secret.encode())
    stored = state.get(_SECRET_KEY)
    if not isinstance(stored, str) or len(stored) < MIN_SECRET_CHARS:
        stored = secrets.token_urlsafe(32)
        await state.set(_SECRET_KEY, stored)
    return TokenSigner(stored.encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
