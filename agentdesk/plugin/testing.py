"""Testing kit for channel plugins.

- ``RecordingContext``: a ``PluginContext`` that records what a channel does
  (emitted items, health reports, state, routes), and ``serve(ctx)`` to put
  the channel's routes on a real HTTP server on 127.0.0.1.
- ``recording_context``: a pytest fixture, enabled with
  ``pytest_plugins = ["agentdesk.plugin.testing"]`` in a ``conftest.py``.
- ``ChannelContract``: the conformance kit. Subclass it in a test module::

      from agentdesk.plugin.testing import ChannelContract

      class TestMyChannel(ChannelContract):
          channel_class = MyChannel
          options = {"token": "test"}

  and pytest runs every check of ``agentdesk.plugin.contract`` against the
  channel (pytest-asyncio must be installed). ``agentdesk plugins check NAME``
  runs the same checks from the command line.
- ``EnricherContract``: the same for a CRM enricher: set ``enricher_class``,
  ``options``, a ``known`` and an ``unknown`` identity (``("email", "...")``),
  optionally ``secrets`` that must never show and ``break_crm`` to cut the CRM.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .channel import Channel, Enricher
from .contract import (
    CHECKS,
    DEFAULT_ADDRESSES,
    Check,
    CheckResult,
    ContractReport,
    ContractSubject,
    run_check,
    run_contract,
)
from .enricher_contract import (
    ENRICHER_CHECKS,
    EnricherCheck,
    EnricherSubject,
    run_enricher_check,
)
from .recording import MemoryState, RecordedRoute, RecordingContext, serve
from .types import Outbound

__all__ = [
    "ChannelContract",
    "CheckResult",
    "ContractReport",
    "ContractSubject",
    "EnricherContract",
    "EnricherSubject",
    "MemoryState",
    "RecordedRoute",
    "RecordingContext",
    "recording_context",
    "run_contract",
    "serve",
]

try:  # pytest is needed for the fixture and ChannelContract, not for the rest of the kit.
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]


class ChannelContract:
    """Base class of a channel's conformance tests; see the module docstring.

    Set ``channel_class`` and ``options``; override the hooks when the kit
    cannot guess: ``trigger_inbound`` (make the channel receive something),
    ``send_address`` (where test replies may go), ``count_deliveries`` (how
    many times the customer got one message). An autouse fixture of the
    subclass may fill ``options`` (to point the channel at a test server).
    """

    channel_class: ClassVar[type[Channel]]
    options: dict[str, Any] = {}
    channel_name: ClassVar[str] = "contract"
    #: Where replies go in the send checks; None picks an address for the identity kind.
    send_to: ClassVar[str | None] = None
    #: Set False for a channel whose sends cannot be pointed at a test server.
    check_sending: ClassVar[bool] = True
    inbound_timeout: ClassVar[float] = 5.0
    step_timeout: ClassVar[float] = 10.0
    max_loop_lag: ClassVar[float] = 0.1

    async def trigger_inbound(self, channel: Channel, ctx: RecordingContext) -> None:
        """Make the channel receive an inbound item (post a webhook, drop a mail
        in the test server). The default does nothing and the kit just waits."""

    async def send_address(self, channel: Channel, ctx: RecordingContext) -> str | None:
        """The address test replies go to (the channel is started)."""
        return self.send_to or DEFAULT_ADDRESSES.get(channel.capabilities.identity_kind)

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        """How many times the customer received ``outbound`` (None: cannot tell)."""
        return None

    def contract_subject(self) -> ContractSubject:
        return ContractSubject(
            channel_class=self.channel_class,
            options=dict(self.options),
            channel_name=self.channel_name,
            send_enabled=self.check_sending,
            send_address=self.send_address,
            # Not overridden: the kit posts a webhook channel's sample_webhook itself.
            trigger_inbound=(
                self.trigger_inbound
                if type(self).trigger_inbound is not ChannelContract.trigger_inbound
                else None
            ),
            count_deliveries=self.count_deliveries,
            inbound_timeout=self.inbound_timeout,
            step_timeout=self.step_timeout,
            max_loop_lag=self.max_loop_lag,
        )


def _contract_test(check: Check) -> Any:
    async def test(self: ChannelContract) -> None:
        result = await run_check(check, self.contract_subject())
        if result.outcome == "skipped":
            pytest.skip(result.detail)
        if result.outcome == "failed":
            pytest.fail(f"{check.title}: {result.detail}", pytrace=False)

    test.__name__ = f"test_contract_{check.name}"
    test.__doc__ = check.title
    return pytest.mark.asyncio(test)


class EnricherContract:
    """Base class of an enricher's conformance tests (see the module's docstring).

    ``break_crm(self, enricher, ctx)``, if defined, makes the CRM unreachable
    for the outage checks; without it the kit cuts the network of the clients
    ``context.http_client()`` made.
    """

    enricher_class: ClassVar[type[Enricher]]
    known: ClassVar[tuple[str, str]]
    unknown: ClassVar[tuple[str, str]]
    options: ClassVar[dict[str, Any]] = {}
    secrets: ClassVar[tuple[str, ...]] = ()
    enricher_name: ClassVar[str] = "contract"
    lookup_timeout: ClassVar[float] = 10.0
    max_loop_lag: ClassVar[float] = 0.1

    def enricher_subject(self) -> EnricherSubject:
        return EnricherSubject(
            enricher_class=self.enricher_class,
            known=self.known,
            unknown=self.unknown,
            options=dict(self.options),
            name=self.enricher_name,
            lookup_timeout=self.lookup_timeout,
            max_loop_lag=self.max_loop_lag,
            secrets=tuple(self.secrets),
            outage=getattr(self, "break_crm", None),
        )


def _enricher_test(check: EnricherCheck) -> Any:
    async def test(self: EnricherContract) -> None:
        result = await run_enricher_check(check, self.enricher_subject())
        if result.outcome == "skipped":
            pytest.skip(result.detail)
        if result.outcome == "failed":
            pytest.fail(f"{check.title}: {result.detail}", pytrace=False)

    test.__name__ = f"test_enricher_{check.name}"
    test.__doc__ = check.title
    return pytest.mark.asyncio(test)


if pytest is not None:
    for _check in CHECKS:
        setattr(ChannelContract, f"test_contract_{_check.name}", _contract_test(_check))
    for _enricher_check in ENRICHER_CHECKS:
        _name = f"test_enricher_{_enricher_check.name}"
        setattr(EnricherContract, _name, _enricher_test(_enricher_check))

    @pytest.fixture
    def recording_context(tmp_path: Path) -> Iterator[RecordingContext]:
        """A fresh ``RecordingContext`` named "test" with a temporary data directory."""
        ctx = RecordingContext("test", data_dir=tmp_path / "channel-data")
        yield ctx
        ctx.close()
