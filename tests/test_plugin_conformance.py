"""The conformance kit: first-party plugins pass it, and it catches each kind of mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentdesk.core.host.discovery import discover
from agentdesk.plugin import Channel, Outbound
from agentdesk.plugin.contract import CHECKS, ContractSubject, run_contract
from agentdesk.plugin.testing import ChannelContract, RecordingContext

EXAMPLES = Path(__file__).parent / "plugin_examples"
CATALOG = discover([EXAMPLES], entry_points=None)
SIMULATOR = CATALOG.channels["simulator"]
KINDS = ("email", "chat", "sms", "social", "phone")

pytest_plugins = ["pytester"]

# First-party plugins whose contract runs without outside servers, with the
# options to run it under. The email and web chat channels have their own
# conformance test files, which start the servers they need.
FIRST_PARTY: dict[str, list[dict[str, Any]]] = {
    "simulator": [{"kind": kind, "rate": 6000, "reply_delay": 0} for kind in KINDS],
}


async def count_simulated(channel: Channel, ctx: RecordingContext, outbound: Outbound) -> int:
    return channel.deliveries[outbound.key]  # type: ignore[attr-defined]


class TestSimulatorContract(ChannelContract):
    """The pytest form of the kit, once per simulated kind."""

    channel_class = SIMULATOR

    @pytest.fixture(autouse=True, params=KINDS)
    def _kind(self, request: pytest.FixtureRequest) -> None:
        self.options = {"kind": request.param, "rate": 6000, "reply_delay": 0}

    async def count_deliveries(
        self, channel: Channel, ctx: RecordingContext, outbound: Outbound
    ) -> int | None:
        return await count_simulated(channel, ctx, outbound)


@pytest.mark.parametrize(
    ("plugin", "options"),
    [(plugin, options) for plugin, runs in FIRST_PARTY.items() for options in runs],
    ids=lambda value: value if isinstance(value, str) else value.get("kind", ""),
)
async def test_first_party_plugins_pass_the_contract_runner(
    plugin: str, options: dict[str, Any]
) -> None:
    subject = ContractSubject(CATALOG.channels[plugin], options, count_deliveries=count_simulated)
    report = await run_contract(subject)
    assert report.passed, [(r.name, r.detail) for r in report.failures]
    assert [r.name for r in report.results] == [check.name for check in CHECKS]


# Each breaker from plugin_examples/example_contract_breakers.py breaks one rule.
BREAKERS = {
    "polite": set(),
    "blocking": {"no_blocking"},
    "leaky": {"clean_shutdown"},
    "duplicating": {"send_idempotent"},
    "no-limit": {"max_text_length"},
    "silent": {"inbound"},
    "bad-items": {"inbound"},
    "untyped-errors": {"typed_errors"},
    "slow-stop": {"start_stop"},
}


async def count_recorded(channel: Channel, ctx: RecordingContext, outbound: Outbound) -> int:
    return channel.deliveries.count(outbound.key)  # type: ignore[attr-defined]


@pytest.mark.parametrize("plugin", sorted(BREAKERS))
async def test_the_kit_catches_each_broken_rule(plugin: str) -> None:
    subject = ContractSubject(
        CATALOG.channels[plugin],
        count_deliveries=count_recorded,
        inbound_timeout=0.3,
        step_timeout=0.3,
    )
    # A stop that hangs fails every check that stops; look at the one about stopping.
    only = ["start_stop"] if plugin == "slow-stop" else None
    report = await run_contract(subject, only=only)
    failed = {result.name for result in report.failures}
    assert failed == BREAKERS[plugin], [(r.name, r.detail) for r in report.failures]


async def test_failure_messages_say_what_to_fix() -> None:
    async def detail(plugin: str, check: str) -> str:
        subject = ContractSubject(
            CATALOG.channels[plugin], count_deliveries=count_recorded, inbound_timeout=0.3
        )
        report = await run_contract(subject, only=[check])
        return next(r.detail for r in report.results if r.name == check)

    assert "move blocking calls to a thread" in await detail("blocking", "no_blocking")
    assert "_hello" in await detail("leaky", "clean_shutdown")
    assert "got the message 2 times" in await detail("duplicating", "send_idempotent")
    assert "was accepted" in await detail("no-limit", "max_text_length")
    assert "trigger_inbound" in await detail("silent", "inbound")
    assert "identity must be a non-empty string" in await detail("bad-items", "inbound")
    assert "raised KeyError" in await detail("untyped-errors", "typed_errors")


async def test_a_class_that_cannot_load_fails_declaration_and_skips_the_rest() -> None:
    from agentdesk.plugin import Channel as Base

    class Nameless(Base):
        pass

    report = await run_contract(ContractSubject(Nameless))
    assert report.results[0].outcome == "failed"
    assert "plugin" in report.results[0].detail and "capabilities" in report.results[0].detail
    assert {r.outcome for r in report.results[1:]} == {"skipped"}


def test_channel_contract_runs_under_plain_pytest(pytester: pytest.Pytester) -> None:
    """An author's test module, in a project without this repository's pytest settings."""
    pytester.makeconftest('pytest_plugins = ["agentdesk.plugin.testing"]\n')
    pytester.makepyfile(
        test_author=textwrap.dedent(
            """
            import asyncio

            import pytest

            from agentdesk.plugin import Capabilities, Channel, Delivery, InboundMessage
            from agentdesk.plugin.testing import ChannelContract


            class Echo(Channel):
                plugin = "echo"
                capabilities = Capabilities(kind="chat", identity_kind="chat", outbound=False)

                async def start(self):
                    self.task = self.context.spawn(self.hello())

                async def hello(self):
                    await self.context.emit(InboundMessage(identity="v1", text="hi"))
                    await asyncio.Event().wait()

                async def stop(self):
                    pass  # forgets its task


            class TestEcho(ChannelContract):
                channel_class = Echo
                inbound_timeout = 1.0


            @pytest.mark.asyncio
            async def test_fixture(recording_context):
                await recording_context.emit(InboundMessage(identity="x", text="y"))
                assert (await recording_context.next_inbound(1)).text == "y"
            """
        )
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=6, failed=1, skipped=3)
    result.stdout.fnmatch_lines(["*test_contract_clean_shutdown*"])
