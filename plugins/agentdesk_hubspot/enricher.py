"""The HubSpot enricher: a customer's contact record and what hangs off it."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import httpx

from agentdesk.plugin import Enricher, LookupUnavailable, Option, PluginContext

from .api import HubSpotApi, Limits
from .failures import TIMEOUT
from .profile import contact_properties, gather_profile, profile_fields
from .settings import OPTIONS, SEARCH_RATE, build_settings
from .throttle import TokenBucket
from .values import record_id

#: The contact properties an identity of each kind is searched in (any of them).
SEARCHED = {"email": ("email",), "phone": ("phone", "mobilephone")}


class HubSpotEnricher(Enricher):
    """Looks customers up in HubSpot by email or phone, through a private app's token."""

    plugin: ClassVar[str] = "hubspot"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = (
        "HubSpot contacts: company, plan, lifetime value, open deals, owner and a link"
    )
    options: ClassVar[tuple[Option, ...]] = OPTIONS

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self.settings = build_settings(context.options)
        rate = self.settings.rate
        # One pair of buckets per instance: every look-up of it shares the account's limit.
        self._limits = Limits(
            requests=TokenBucket(rate),
            # No burst for searches: their limit counts within a single second.
            searches=TokenBucket(min(rate, SEARCH_RATE), burst=1),
        )
        self._warned: set[str] = set()

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        """The contact's fields; None when HubSpot has no contact with this address."""
        searched = SEARCHED.get(identity_kind)
        value = value.strip()
        if searched is None or not value:
            return None
        settings = self.settings
        try:
            async with asyncio.timeout(settings.timeout) as scope:
                deadline = scope.when()
                assert deadline is not None
                async with self._client() as client:
                    api = HubSpotApi(
                        client, self._limits, deadline, self.context.logger, self._warned
                    )
                    contact = await api.find_contact(searched, value, contact_properties(settings))
                    contact_id = record_id(contact)
                    if contact is None or contact_id is None:
                        return None
                    profile = await gather_profile(api, contact, contact_id, settings)
        except TimeoutError:
            raise LookupUnavailable(TIMEOUT) from None
        return profile_fields(profile, contact_id, settings)

    def _client(self) -> httpx.AsyncClient:
        settings = self.settings
        return self.context.http_client(
            base_url=settings.api_base,
            headers={"Authorization": f"Bearer {settings.token}", "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
        )
