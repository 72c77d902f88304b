"""The bot's access token: the configured one, or one a password login got.

A password login is made once and its token and device kept in the
channel's state: a restart uses them again rather than adding a device to
the bot's account each time, and keeps the device the homeserver scopes
transaction ids to (what makes a retried send idempotent).
"""

from __future__ import annotations

import asyncio

from agentdesk.plugin import PluginState

from .api import MatrixApi
from .failures import LoginProblem, MatrixError, password_refused, token_refused
from .settings import MatrixSettings

STATE_KEY = "login"


class BotLogin:
    def __init__(self, settings: MatrixSettings, state: PluginState) -> None:
        self.settings = settings
        self.state = state
        self._lock = asyncio.Lock()
        #: Whether the homeserver confirmed who the token belongs to.
        self.checked = False

    async def ensure(self, api: MatrixApi) -> None:
        """Give ``api`` a checked token, logging in when the password is what we have.

        Raises ``LoginProblem`` when the homeserver refuses the bot as
        configured, ``MatrixError`` when it cannot be asked now.
        """
        if api.token and self.checked:
            return
        async with self._lock:
            if api.token and self.checked:
                return
            if self.settings.access_token:
                api.token = self.settings.access_token
            else:
                kept = self.state.get(STATE_KEY)
                if isinstance(kept, dict) and isinstance(kept.get("token"), str):
                    api.token = kept["token"]
                else:
                    await self._log_in(api, None)
            await self._check(api)

    async def _log_in(self, api: MatrixApi, device_id: str | None) -> None:
        api.token = ""
        try:
            token, device = await api.login(
                self.settings.user_id, self.settings.password, device_id, self.settings.device_name
            )
        except MatrixError as exc:
            if exc.temporary:
                raise
            raise password_refused(exc) from None
        api.token = token
        await self.state.set(STATE_KEY, {"token": token, "device_id": device})

    async def _check(self, api: MatrixApi) -> None:
        try:
            owner = await api.whoami()
        except MatrixError as exc:
            if exc.bad_token and self.settings.password:
                # The kept token was logged out: log in again on the same device.
                kept = self.state.get(STATE_KEY)
                device = kept.get("device_id") if isinstance(kept, dict) else None
                await self._log_in(api, device if isinstance(device, str) else None)
                owner = await api.whoami()
            elif exc.bad_token:
                raise token_refused(exc) from None
            else:
                raise
        if owner.lower() != self.settings.user_id.lower():
            raise LoginProblem(
                f"the access token belongs to {owner or 'nobody'}, not to the user_id "
                f"{self.settings.user_id}: set the bot's own token, or fix user_id"
            )
        self.checked = True

    def forget(self) -> None:
        """The homeserver refused the token: check (and log in) again before the next call."""
        self.checked = False
