"""The channel's one background task: ``/sync`` long-polls, for as long as the
channel runs, and the sync token kept durably between them.

The token of a batch is stored only after everything the batch held was
emitted: ``state.set`` returns once the desk has stored those items, so a
restart (or a crash) asks from the last batch the desk has whole. Nothing
is skipped; what is asked twice is dropped by the desk by its event id.

Failures back off (1 s, 2 s, 4 s... up to 30 s, or what a rate limit asks)
and show as ``degraded`` with the reason until a sync works again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from agentdesk.plugin import Health, HealthState, PluginContext

from .api import MatrixApi
from .failures import LoginProblem, MatrixError, token_refused
from .login import BotLogin
from .receiver import Receiver
from .settings import MatrixSettings

STATE_KEY = "since"
#: How long the homeserver holds a sync open when nothing happens.
LONG_POLL_MS = 30_000
#: Events per room in one sync; a longer absence is read back page by page.
TIMELINE_LIMIT = 50


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """Only what the channel acts on: room events, typing and receipts."""
    nothing = {"not_types": ["*"]}
    return {
        "presence": nothing,
        "account_data": nothing,
        "room": {
            "timeline": {"limit": timeline_limit},
            "state": {"lazy_load_members": True},
            "ephemeral": {"types": ["m.typing", "m.receipt"]},
            "account_data": nothing,
        },
    }


class Syncer:
    def __init__(
        self,
        context: PluginContext,
        settings: MatrixSettings,
        api: MatrixApi,
        login: BotLogin,
        receiver: Receiver,
        report: Callable[[Health], None],
        *,
        timeline_limit: int = TIMELINE_LIMIT,
        retry_first: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self.context = context
        self.settings = settings
        self.api = api
        self.login = login
        self.receiver = receiver
        self.report = report
        self.filter = sync_filter(timeline_limit)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.logger: logging.Logger = context.logger
        self._named = False

    async def run(self) -> None:
        stored = self.context.state.get(STATE_KEY)
        since = stored if isinstance(stored, str) and stored else None
        delay = self.retry_first
        while True:
            try:
                await self.login.ensure(self.api)
                await self._name_the_bot()
                # The first sync of a new channel answers at once with the rooms as they are.
                batch = await self.api.sync(
                    since, 0 if since is None else LONG_POLL_MS, self.filter
                )
                token = batch.get("next_batch") if isinstance(batch, dict) else None
                if not isinstance(token, str) or not token:
                    raise MatrixError(200, "", "the sync answer has no next_batch token")
                await self.receiver.handle(batch, since)
            except LoginProblem as exc:
                problem, wait = str(exc), delay
            except MatrixError as exc:
                if exc.bad_token:
                    self.login.forget()
                    problem = str(token_refused(exc))
                else:
                    problem = f"sync failed: {exc}"
                wait = max(delay, exc.retry_after or 0.0)
            else:
                since = token
                await self.context.state.set(STATE_KEY, since)
                delay = self.retry_first
                self.report(
                    Health(
                        HealthState.UP,
                        f"signed in as {self.settings.user_id}; "
                        f"{_conversations(len(self.receiver.rooms))}",
                    )
                )
                continue
            self.logger.warning("%s; next try in %.0f s", problem, wait)
            self.report(Health(HealthState.DEGRADED, f"{problem}; next try in {wait:.0f} s"))
            await asyncio.sleep(wait)
            delay = min(max(delay, wait) * 2, self.retry_max)

    async def _name_the_bot(self) -> None:
        if self._named or not self.settings.display_name:
            return
        try:
            await self.api.set_display_name(self.settings.user_id, self.settings.display_name)
        except MatrixError as exc:
            if exc.temporary:
                raise
            self.logger.warning("could not set the bot's display name: %s", exc)
        self._named = True


def _conversations(count: int) -> str:
    return f"{count} conversation{'' if count == 1 else 's'}"
