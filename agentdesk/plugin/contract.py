"""The channel contract: what every channel plugin must do, checked by running it.

``run_contract`` runs each check against a fresh instance with a
``RecordingContext`` and returns a report; it needs no test framework, so
``agentdesk plugins check NAME`` uses it directly. ``ChannelContract`` in
``agentdesk.plugin.testing`` wraps the same checks as pytest tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from .contract_session import (
    DEFAULT_ADDRESSES,
    ContractFailure,
    ContractSkip,
    ContractSubject,
    Session,
    require,
    session,
)
from .errors import DeliveryError, PermanentDeliveryError, PluginError
from .options import parse_options
from .types import Capabilities, Delivery, HandoffContext, Health, HealthState, Outbound
from .validation import declaration_problems, inbound_problems

__all__ = [
    "CHECKS",
    "DEFAULT_ADDRESSES",
    "Check",
    "CheckResult",
    "ContractFailure",
    "ContractReport",
    "ContractSkip",
    "ContractSubject",
    "run_check",
    "run_contract",
]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    title: str
    outcome: str  # "passed", "failed", "skipped"
    detail: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class ContractReport:
    plugin: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.outcome != "failed" for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.outcome == "failed"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    title: str
    run: Callable[[ContractSubject], Coroutine[Any, Any, None]]


# -- the checks -----------------------------------------------------------


async def check_declaration(subject: ContractSubject) -> None:
    problems = declaration_problems(subject.channel_class)
    require(not problems, "; ".join(problems))
    parse_options(subject.channel_class.options, dict(subject.options), where=subject.channel_name)


async def check_start_stop(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.step("stop() before start()", s.channel.stop())
        require(
            isinstance(s.channel.capabilities, Capabilities), "capabilities is not a Capabilities"
        )
        await s.start()
        await s.step("a second start()", s.channel.start())
        health = s.channel.health()
        require(isinstance(health, Health), f"health() returned {health!r}, not a Health")
        await s.stop()
        await s.step("a second stop()", s.channel.stop())


async def check_inbound(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.inbound:
            raise ContractSkip("the channel declares no inbound")
        await s.start()
        if subject.trigger_inbound is not None:
            await subject.trigger_inbound(s.channel, s.ctx)
        elif type(s.channel).needs_http:
            await post_sample(s)
        try:
            await s.ctx.next_inbound(subject.inbound_timeout)
        except TimeoutError as exc:
            health = s.channel.health()
            why = (
                f"; the channel is {health.state}: {health.detail}"
                if health.state != HealthState.UP
                else ""
            )
            hint = (
                "give the check a trigger_inbound hook"
                if type(s.channel).needs_http
                else "write to it during the check (longer --timeout) or add a trigger_inbound hook"
            )
            raise ContractFailure(f"{exc}{why} ({hint})") from None
        problems = [p for item in s.ctx.emitted for p in inbound_problems(item)]
        require(not problems, "; ".join(problems[:5]))
        await s.stop()


async def post_sample(s: Session) -> None:
    """Post the channel's own sample webhook to its route, as its provider would."""
    sample = s.channel.sample_webhook
    if sample is None:
        raise ContractSkip(
            "a webhook channel without sample_webhook: declare one so the check can post "
            "what the provider sends"
        )
    import httpx

    url = s.ctx.url(f"/channels/{s.subject.channel_name}{sample.path}")
    headers = {"content-type": sample.content_type, **sample.headers}
    async with httpx.AsyncClient(timeout=s.subject.step_timeout) as client:
        answer = await client.request(
            sample.method, url, content=sample.body.encode(), headers=headers
        )
    require(
        answer.status_code < 300,
        f"the sample webhook got HTTP {answer.status_code}: {answer.text[:200]}",
    )


async def check_send_idempotent(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        await s.start()
        outbound = s.outbound(await s.address())
        first = await s.step("send()", s.channel.send(outbound))
        require(isinstance(first, Delivery), f"send() returned {first!r}, not a Delivery")
        second = await s.step("send() again with the same key", s.channel.send(outbound))
        require(isinstance(second, Delivery), f"the second send() returned {second!r}")
        if first.external_id is not None and second.external_id is not None:
            require(
                first.external_id == second.external_id,
                "the same key was sent twice as two messages "
                f"({first.external_id!r}, then {second.external_id!r})",
            )
        if subject.count_deliveries is not None:
            count = await subject.count_deliveries(s.channel, s.ctx, outbound)
            if count is not None:
                require(count == 1, f"the customer got the message {count} times, not once")
        await s.stop()


async def check_max_text_length(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        await s.start()
        address = await s.address()
        limit = s.channel.capabilities.max_text_length
        if limit is None:
            delivery = await s.step(
                "send() of 20,000 characters", s.channel.send(s.outbound(address, "x" * 20_000))
            )
            require(
                isinstance(delivery, Delivery),
                "a long text was not delivered though no limit is declared",
            )
        else:
            fits = await s.step(
                f"send() of {limit} characters", s.channel.send(s.outbound(address, "x" * limit))
            )
            require(isinstance(fits, Delivery), f"a text of exactly {limit} characters was refused")
            try:
                await s.step(
                    "send() of a too-long text",
                    s.channel.send(s.outbound(address, "x" * (limit + 1))),
                )
            except PermanentDeliveryError:
                pass
            except Exception as exc:
                raise ContractFailure(
                    f"a text over max_text_length={limit} raised {type(exc).__name__}, "
                    "not PermanentDeliveryError"
                ) from None
            else:
                raise ContractFailure(f"a text over max_text_length={limit} was accepted")
        await s.stop()


async def check_typed_errors(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        address = await s.address()
        try:
            await s.step("send() before start()", s.channel.send(s.outbound(address)))
        except PluginError:
            pass
        except ContractFailure:
            raise
        except Exception as exc:
            raise ContractFailure(
                f"send() before start() raised {type(exc).__name__}: {exc} "
                "(raise TemporaryDeliveryError or ChannelConnectionError)"
            ) from None
        await s.start()
        try:
            await s.step("send() to an empty address", s.channel.send(s.outbound("")))
        except DeliveryError as exc:
            require(not exc.temporary, "an empty address was reported as a temporary failure")
        except ContractFailure:
            raise
        except Exception as exc:
            raise ContractFailure(
                f"send() to an empty address raised {type(exc).__name__}, "
                "not PermanentDeliveryError"
            ) from None
        else:
            raise ContractFailure("send() to an empty address was accepted")
        await s.stop()


async def check_handoff(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.start()
        kind = s.channel.capabilities.identity_kind
        handoff = HandoffContext(
            task_id="contract-task",
            task_number=1,
            customer_name="Contract Check",
            to=DEFAULT_ADDRESSES.get(kind, "contract-check"),
            from_channel="elsewhere",
            context="We are following up here on your request #1.",
        )
        first = await s.step("handoff_in()", s.channel.handoff_in(handoff))
        if first is not None:
            require(isinstance(first, Outbound), f"handoff_in() returned {first!r}")
            require(bool(first.key), "the handoff message has no idempotency key")
            require(first.to == handoff.to, "the handoff message is not addressed to the customer")
        await s.stop()


async def check_no_blocking(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.start()
        if s.channel.capabilities.outbound and subject.send_enabled:
            with contextlib.suppress(PluginError):
                await s.step("send()", s.channel.send(s.outbound(await s.address())))
        await asyncio.sleep(0.05)  # let background work run under the monitor
        await s.stop()
        require(
            s.lag.max_lag <= subject.max_loop_lag,
            f"the event loop was blocked for {s.lag.max_lag * 1000:.0f} ms "
            f"(limit {subject.max_loop_lag * 1000:.0f} ms): move blocking calls to a thread",
        )


async def check_clean_shutdown(subject: ContractSubject) -> None:
    before = asyncio.all_tasks()
    async with session(subject) as s:
        await s.start()
        if s.channel.capabilities.inbound and subject.trigger_inbound is not None:
            await subject.trigger_inbound(s.channel, s.ctx)
        await asyncio.sleep(0.05)
        await s.stop()
        left = s.ctx.running_tasks()
        require(not left, f"stop() left spawned tasks running: {_names(left)}")
    for _ in range(5):  # let cancelled tasks finish unwinding
        await asyncio.sleep(0)
    leaked = [
        t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()
    ]
    require(not leaked, f"tasks still running after stop(): {_names(leaked)}")


def _names(tasks: Sequence[asyncio.Task[Any]]) -> str:
    return ", ".join(
        sorted(f"{t.get_name()} ({getattr(t.get_coro(), '__qualname__', '?')})" for t in tasks)
    )


CHECKS: tuple[Check, ...] = (
    Check("declaration", "declares plugin, capabilities and valid options", check_declaration),
    Check("start_stop", "start and stop are idempotent and prompt", check_start_stop),
    Check("inbound", "emits well-formed inbound items", check_inbound),
    Check("send_idempotent", "send is idempotent by key", check_send_idempotent),
    Check("max_text_length", "enforces its declared max_text_length", check_max_text_length),
    Check("typed_errors", "reports failures with typed errors", check_typed_errors),
    Check("handoff", "handoff_in returns a well-formed message or None", check_handoff),
    Check("no_blocking", "never blocks the event loop", check_no_blocking),
    Check("clean_shutdown", "leaves no task running after stop", check_clean_shutdown),
)


async def run_check(check: Check, subject: ContractSubject) -> CheckResult:
    """Run one check; an unexpected exception is a failure, never a crash of the kit."""
    began = time.perf_counter()
    try:
        await check.run(subject)
    except ContractSkip as exc:
        outcome, detail = "skipped", str(exc)
    except ContractFailure as exc:
        outcome, detail = "failed", str(exc)
    except Exception as exc:
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
    else:
        outcome, detail = "passed", ""
    return CheckResult(check.name, check.title, outcome, detail, time.perf_counter() - began)


async def run_contract(
    subject: ContractSubject, only: Sequence[str] | None = None
) -> ContractReport:
    """Run every check (or those named in ``only``) and return the report."""
    report = ContractReport(plugin=subject.channel_class.plugin or subject.channel_class.__name__)
    declaration = await run_check(CHECKS[0], subject)
    report.results.append(declaration)
    for check in CHECKS[1:]:
        if only is not None and check.name not in only:
            continue
        if declaration.outcome == "failed":
            report.results.append(
                CheckResult(check.name, check.title, "skipped", "declaration is invalid")
            )
            continue
        report.results.append(await run_check(check, subject))
    return report
